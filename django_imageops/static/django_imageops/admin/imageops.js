/* django-imageops admin: batch progress polling, before/after at one scale. (The operation
   forms' previews are in django_imageops/forms/operation_form.js.) */
"use strict";
(function () {
  // Batch progress: poll the JSON view, update counts, bar and row badges until done.
  function pollProgress(panel) {
    const url = panel.dataset.url;
    function apply(data) {
      for (const [group, n] of Object.entries(data.counts)) {
        const count = panel.querySelector('[data-count="' + group + '"]');
        if (count) { count.textContent = n; }
        const bar = panel.querySelector('[data-group="' + group + '"]');
        if (bar) { bar.style.width = data.percent[group] + "%"; }
      }
      const total = panel.querySelector('[data-count="total"]');
      if (total) { total.textContent = data.total; }
      for (const [pk, job] of Object.entries(data.jobs || {})) {
        const badge = document.querySelector('.imageops-badge[data-job="' + pk + '"]');
        if (badge && !badge.classList.contains("imageops-" + job.status)) {
          badge.className = "imageops-badge imageops-" + job.status;
          badge.textContent = job.label;
        }
      }
      panel.dataset.done = data.done ? "1" : "0";
      panel.querySelector(".imageops-finished").hidden = !data.done;
    }
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          apply(data);
          if (!data.done) { setTimeout(tick, 2000); }
        })
        .catch(function () { setTimeout(tick, 10000); });
    }
    if (panel.dataset.done !== "1") { setTimeout(tick, 1000); }
  }

  // Before/after: one common scale so both images compare pixel for pixel.
  function sameScale(row) {
    const imgs = Array.from(row.querySelectorAll("img"));
    function fit() {
      if (!imgs.every(function (i) { return i.complete && i.naturalWidth; })) { return; }
      const available = Math.max(200, (row.parentElement.clientWidth || 800) - 16 * imgs.length);
      const naturalTotal = imgs.reduce(function (s, i) { return s + i.naturalWidth; }, 0);
      const tallest = Math.max.apply(null, imgs.map(function (i) { return i.naturalHeight; }));
      const scale = Math.min(1, available / naturalTotal, 600 / tallest);
      imgs.forEach(function (i) {
        i.style.width = Math.round(i.naturalWidth * scale) + "px";
        i.style.height = Math.round(i.naturalHeight * scale) + "px";
      });
      row.dataset.scale = scale.toFixed(4);
    }
    imgs.forEach(function (i) { i.addEventListener("load", fit); });
    fit();
  }

  function init() {
    const panel = document.getElementById("imageops-progress");
    if (panel) { pollProgress(panel); }
    document.querySelectorAll(".imageops-same-scale").forEach(sameScale);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
