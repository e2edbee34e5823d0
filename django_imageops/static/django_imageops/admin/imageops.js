/* django-imageops admin: batch progress polling, before/after at one scale, a job's status
   polled until it ends. (The operation forms' previews are in
   django_imageops/forms/operation_form.js.) */
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
      const reasons = panel.querySelector(".imageops-budget-reasons");
      if (reasons) {
        reasons.querySelector("[data-budget-reasons]").textContent =
          (data.budget_reasons || []).join("; ");
        reasons.hidden = !(data.budget_reasons || []).length;
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

  // Before/after: one common scale so both images compare pixel for pixel, side by side
  // within the row's width (its own box, not the images' natural size), stacked when narrow.
  function sameScale(row) {
    const imgs = Array.from(row.querySelectorAll("img"));
    const gap = 16;
    function fit() {
      if (!imgs.every(function (i) { return i.complete && i.naturalWidth; })) { return; }
      // Borders count: each image takes its scaled width plus its border.
      const border = Math.max.apply(null, imgs.map(function (i) {
        return i.offsetWidth - i.clientWidth;
      }));
      const width = (row.clientWidth || 800) - border;
      const widest = Math.max.apply(null, imgs.map(function (i) { return i.naturalWidth; }));
      const naturalTotal = imgs.reduce(function (s, i) { return s + i.naturalWidth; }, 0);
      const tallest = Math.max.apply(null, imgs.map(function (i) { return i.naturalHeight; }));
      const sideBySide = (width - (gap + border) * (imgs.length - 1)) / naturalTotal;
      const stack = imgs.length > 1 && width < 600 && width / widest > 1.5 * sideBySide;
      row.classList.toggle("imageops-stacked", stack);
      const scale = Math.min(1, stack ? width / widest : sideBySide, 600 / tallest);
      imgs.forEach(function (i) {
        i.style.width = Math.floor(i.naturalWidth * scale) + "px";
        i.style.height = Math.floor(i.naturalHeight * scale) + "px";
      });
      row.dataset.scale = scale.toFixed(4);
    }
    imgs.forEach(function (i) { i.addEventListener("load", fit); });
    window.addEventListener("resize", fit);
    fit();
  }

  // A job's status: poll its JSON until the job has finished, updating its badges and progress
  // words on the page; then reload the page (data-reload="1") or, for a widget, let it react to
  // the "imageops:finished" event (detail: the last status).
  function pollJob(el) {
    const url = el.dataset.statusUrl;
    const pk = el.dataset.job;
    function apply(data) {
      document.querySelectorAll('.imageops-badge[data-job="' + pk + '"]').forEach(function (b) {
        b.className = "imageops-badge imageops-" + data.status;
        b.textContent = data.status_display;
      });
      document.querySelectorAll('[data-progress-job="' + pk + '"]').forEach(function (w) {
        w.textContent = data.progress || "-";
      });
      el.dispatchEvent(new CustomEvent("imageops:status", {detail: data, bubbles: true}));
    }
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"},
                  cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          apply(data);
          if (!data.finished) { setTimeout(tick, 2000); return; }
          el.dataset.finished = "1";
          el.dispatchEvent(new CustomEvent("imageops:finished", {detail: data, bubbles: true}));
          if (el.dataset.reload === "1") { window.location.reload(); }
        })
        .catch(function (status) {
          // No permission or no such job: stop; anything else: try again later.
          if (status !== 403 && status !== 404) { setTimeout(tick, 10000); }
        });
    }
    if (el.dataset.finished !== "1") { setTimeout(tick, 1500); }
  }

  // A derived image's widget: while its latest job runs (pollJob), refresh the job's status,
  // the field's state badge and, once there is one, its thumbnail, from the status JSON.
  function derivedWidget(el) {
    el.addEventListener("imageops:status", function (event) {
      const data = event.detail;
      const status = el.querySelector(".imageops-derived-job-status");
      if (status) {
        status.textContent = data.status_display + (data.progress ? " (" + data.progress + ")" : "");
      }
      const field = data.field;
      if (!field) { return; }
      const badge = el.querySelector(".imageops-derived-badge");
      badge.className = "imageops-badge imageops-derived-badge imageops-" + field.state;
      badge.textContent = field.label;
      badge.title = field.help;
      el.querySelector(".imageops-derived-help").textContent = field.help;
      el.className = "imageops-derived imageops-derived-" + field.state;
      const link = el.querySelector(".imageops-derived-link");
      if (field.url) {
        const img = link.querySelector("img");
        const src = field.thumbnail_url || field.url;
        // Presigned URLs change with every answer: reload the image only for another file.
        if ((img.getAttribute("src") || "").split("?")[0] !== src.split("?")[0]) {
          img.src = src;
          link.href = field.url;
        }
        link.hidden = false;
      }
    });
  }

  function init() {
    document.querySelectorAll(".imageops-derived").forEach(derivedWidget);
    const panel = document.getElementById("imageops-progress");
    if (panel) { pollProgress(panel); }
    document.querySelectorAll(".imageops-same-scale").forEach(sameScale);
    document.querySelectorAll("[data-status-url]").forEach(pollJob);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
