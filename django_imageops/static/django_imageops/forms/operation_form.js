/* django-imageops operation forms (forms.OperationForm): what you will get and what it costs.
 *
 * - crop: the box drawn, dragged and resized on the first image (Cropper.js), the numbers in
 *   sync both ways, aspect-ratio presets; a box leaving an image is drawn whole and marked
 *   invalid (never silently clipped);
 * - uncrop: each image's size and the result's, a canvas showing where the new pixels go
 *   (hatched) and what is cropped away (dimmed), presets computing the offsets for an aspect
 *   ratio;
 * - the provider's own parameters shown only while that provider is chosen;
 * - the cost line refreshed from the server as the values change.
 *
 * No admin framework is assumed (no jQuery): window.djangoImageops.initOperationForm(root) sets
 * up one `.imageops-form`; the forms on the page at load are set up on DOMContentLoaded, and a
 * page inserting a form later (the in-place panel) calls it.
 */
"use strict";
(function () {
  const ns = (window.djangoImageops = window.djangoImageops || {});

  function text(root, key, values) {
    let messages = root._imageopsText;
    if (!messages) {
      try { messages = JSON.parse(root.dataset.text || "{}"); } catch (e) { messages = {}; }
      root._imageopsText = messages;
    }
    let message = messages[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      message = message.split("%(" + name + ")s").join(String(value));
    }
    return message;
  }

  function intValue(input) {
    if (!input || input.disabled) { return NaN; }
    const raw = input.value.trim();
    return raw === "" || !/^-?\d+$/.test(raw) ? NaN : parseInt(raw, 10);
  }

  function setValue(input, value) {
    if (input && input.value !== String(value)) { input.value = String(value); }
  }

  // Pixels as displayed: the server's figure when it knew it, else the loaded image's.
  function sourceSize(item) {
    const width = parseInt(item.dataset.width, 10);
    const height = parseInt(item.dataset.height, 10);
    if (width && height) { return {width: width, height: height}; }
    const img = item.querySelector("img");
    if (img && img.naturalWidth) { return {width: img.naturalWidth, height: img.naturalHeight}; }
    return null;
  }

  function whenLoaded(img, fn) {
    if (!img) { return; }
    if (img.complete && img.naturalWidth) { fn(); } else { img.addEventListener("load", fn); }
  }

  function setNote(item, message) {
    const note = item.querySelector(".imageops-source-note");
    if (note) { note.textContent = message || ""; note.hidden = !message; }
    item.classList.toggle("imageops-invalid", Boolean(message));
  }

  function setSizeText(root, item, result) {
    const span = item.querySelector(".imageops-source-size");
    const size = sourceSize(item);
    if (!span || !size) { return; }
    span.textContent = result
      ? text(root, "resized", {width: size.width, height: size.height,
                               rwidth: result.width, rheight: result.height})
      : text(root, "size", {width: size.width, height: size.height});
  }

  function notify(input) {
    if (input) { input.dispatchEvent(new Event("input", {bubbles: true})); }
  }

  // -- the provider's own parameters --------------------------------------------------------
  function providerToggle(root) {
    const groups = root.querySelectorAll("[data-providers]");
    if (!groups.length) { return; }
    function apply() {
      const checked = root.querySelector('input[name="provider"]:checked');
      const chosen = checked ? checked.value : "";
      groups.forEach(function (group) {
        const off = Boolean(chosen) && !group.dataset.providers.split(" ").includes(chosen);
        group.hidden = off;
        // A hidden provider's parameters are not sent (that provider would refuse them).
        group.querySelectorAll("input, select, textarea").forEach(function (input) {
          input.disabled = off;
        });
      });
    }
    root.addEventListener("change", function (event) {
      if (event.target.name === "provider") { apply(); }
    });
    apply();
  }

  // -- crop -----------------------------------------------------------------------------------
  function cropForm(root) {
    const inputs = {};
    for (const name of ["x", "y", "width", "height"]) {
      inputs[name] = root.querySelector('[name="' + name + '"]');
    }
    if (!inputs.x) { return; }
    const items = Array.from(root.querySelectorAll(".imageops-source"));
    const main = items.find(function (item) { return item.querySelector("img"); });
    let cropper = null;
    let syncing = false;
    // While the window resizes, Cropper rescales its box (through tiny or transient sizes):
    // the numbers stay as they are and the box is put back from them afterwards.
    let resizing = false;
    let resizeTimer = null;

    function values() {
      return {x: intValue(inputs.x), y: intValue(inputs.y),
              width: intValue(inputs.width), height: intValue(inputs.height)};
    }
    function complete(v) {
      return [v.x, v.y, v.width, v.height].every(Number.isFinite) && v.width > 0 && v.height > 0;
    }
    function leaves(v, size) {
      return v.x < 0 || v.y < 0 || v.x + v.width > size.width || v.y + v.height > size.height;
    }
    function outsideNote(v, size) {
      return text(root, "cropOutside", {right: v.x + v.width, bottom: v.y + v.height,
                                       width: size.width, height: size.height});
    }

    // The box over a preview at its display scale; one leaving the image is drawn whole.
    function drawBox(item, v, frame) {
      const box = item.querySelector(".imageops-crop-box");
      const size = sourceSize(item);
      if (!box || !size) { return; }
      setSizeText(root, item, null);
      if (!complete(v) || !frame.width) { box.hidden = true; setNote(item, ""); return; }
      const scale = frame.width / size.width;
      box.style.left = (frame.left + v.x * scale) + "px";
      box.style.top = (frame.top + v.y * scale) + "px";
      box.style.width = (v.width * scale) + "px";
      box.style.height = (v.height * scale) + "px";
      const bad = leaves(v, size);
      box.classList.toggle("imageops-crop-box-invalid", bad);
      box.hidden = false;
      setNote(item, bad ? outsideNote(v, size) : "");
    }

    function imageFrame(item) {
      const img = item.querySelector("img");
      return {left: img.offsetLeft, top: img.offsetTop, width: img.clientWidth};
    }

    function drawOthers(v) {
      items.forEach(function (item) {
        if (item === main && cropper) { return; }
        drawBox(item, v, imageFrame(item));
      });
    }

    // Numbers -> the cropper's box (an invalid box is shown by our own overlay instead).
    function toCropper(v) {
      if (!cropper || !cropper.ready) { return; }  // Cropper's own flag: its box is built
      const size = sourceSize(main);
      const canvas = cropper.getCanvasData();
      const factor = size.width / cropper.getImageData().naturalWidth;
      const box = main.querySelector(".imageops-crop-box");
      if (!complete(v) || leaves(v, size)) {
        syncing = true;
        cropper.clear();
        syncing = false;
        drawBox(main, v, {left: canvas.left, top: canvas.top, width: canvas.width});
        return;
      }
      box.hidden = true;
      setNote(main, "");
      syncing = true;
      cropper.crop();
      cropper.setData({x: v.x / factor, y: v.y / factor,
                       width: v.width / factor, height: v.height / factor});
      syncing = false;
    }

    // The cropper's box -> the numbers.
    function fromCropper(detail) {
      // A click on the image starts a new box of no size: wait until it is dragged open.
      if (syncing || resizing || detail.width < 0.5 || detail.height < 0.5) { return; }
      const size = sourceSize(main);
      const factor = size.width / cropper.getImageData().naturalWidth;
      let x = Math.max(0, Math.round(detail.x * factor));
      let y = Math.max(0, Math.round(detail.y * factor));
      const width = Math.max(1, Math.min(Math.round(detail.width * factor), size.width - x));
      const height = Math.max(1, Math.min(Math.round(detail.height * factor), size.height - y));
      x = Math.min(x, size.width - width);
      y = Math.min(y, size.height - height);
      setValue(inputs.x, x); setValue(inputs.y, y);
      setValue(inputs.width, width); setValue(inputs.height, height);
      main.querySelector(".imageops-crop-box").hidden = true;
      setNote(main, "");
      drawOthers(values());
      root.dispatchEvent(new CustomEvent("imageops:values", {bubbles: true}));
    }

    function startCropper() {
      const img = main.querySelector("img");
      const initial = values();
      let started = false;
      cropper = new window.Cropper(img, {
        viewMode: 1,
        // Values already typed (or posted back) are kept; otherwise Cropper proposes a box.
        autoCrop: !complete(initial),
        autoCropArea: 0.8,
        zoomable: false,
        movable: false,
        rotatable: false,
        scalable: false,
        restore: false,
        minContainerWidth: 1,
        minContainerHeight: 1,
        // Our resize handler rebuilds it once the layout has settled: Cropper's own measured
        // whatever layout the resize passed through, and a preview hidden or without width at
        // that moment left the image 1 px wide for good.
        responsive: false,
        ready: function () {
          if (complete(initial)) { toCropper(initial); } else { fromCropper(cropper.getData()); }
          started = true;
          main.classList.add("imageops-cropper-ready");
          root.dataset.cropperReady = "1";
        },
        crop: function (event) { if (started) { fromCropper(event.detail); } },
      });
      setSizeText(root, main, null);
    }

    root.addEventListener("input", function (event) {
      if (!(event.target.name in inputs)) { return; }
      const v = values();
      toCropper(v);
      drawOthers(v);
    });

    root.querySelectorAll(".imageops-ratio").forEach(function (button) {
      button.addEventListener("click", function () {
        root.querySelectorAll(".imageops-ratio").forEach(function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
        const ratio = parseFloat(button.dataset.ratio);
        if (cropper && cropper.ready) {
          cropper.crop();
          cropper.setAspectRatio(Number.isFinite(ratio) ? ratio : NaN);
          return;
        }
        const width = intValue(inputs.width);
        if (Number.isFinite(ratio) && Number.isFinite(width)) {
          setValue(inputs.height, Math.max(1, Math.round(width / ratio)));
          notify(inputs.height);
        }
      });
    });

    items.forEach(function (item) {
      whenLoaded(item.querySelector("img"), function () {
        if (item === main && window.Cropper) { startCropper(); } else { drawBox(item, values(), imageFrame(item)); }
      });
    });
    window.addEventListener("resize", function () {
      resizing = true;
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () {
        resizing = false;
        if (cropper && main.offsetWidth) {
          // A new Cropper measures the settled layout and puts the box back from the numbers.
          cropper.destroy();
          startCropper();
        }
        drawOthers(values());
      }, 250);
    });
  }

  // -- uncrop ---------------------------------------------------------------------------------
  const SIDES = ["left", "right", "top", "bottom"];

  function hatch(ctx) {
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const t = tile.getContext("2d");
    t.fillStyle = "#dbe9f6";
    t.fillRect(0, 0, 8, 8);
    t.strokeStyle = "#5b8fc7";
    t.lineWidth = 1.5;
    t.beginPath(); t.moveTo(0, 8); t.lineTo(8, 0); t.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function uncropForm(root) {
    const inputs = {};
    for (const side of SIDES) { inputs[side] = root.querySelector('[name="' + side + '"]'); }
    if (!inputs.left) { return; }
    const items = Array.from(root.querySelectorAll(".imageops-source"));
    const main = items.find(function (item) { return item.querySelector("img"); });

    function offsets() {
      const o = {};
      for (const side of SIDES) {
        const value = intValue(inputs[side]);
        o[side] = Number.isFinite(value) ? value : 0;
      }
      return o;
    }

    function draw(item) {
      const img = item.querySelector("img");
      const size = sourceSize(item);
      if (!img || !size || !img.naturalWidth) { return; }
      let canvas = item.querySelector("canvas.imageops-uncrop-canvas");
      if (!canvas) {
        canvas = document.createElement("canvas");
        canvas.className = "imageops-uncrop-canvas";
        canvas.setAttribute("role", "img");
        img.after(canvas);
        img.classList.add("imageops-source-drawn");
      }
      const o = offsets();
      const W = size.width, H = size.height;
      const result = {width: W + o.left + o.right, height: H + o.top + o.bottom};
      setSizeText(root, item, result);
      const bad = result.width < 1 || result.height < 1;
      setNote(item, bad ? text(root, "uncropEmpty", {}) : "");
      canvas.setAttribute("aria-label", text(root, "resized", {
        width: W, height: H, rwidth: result.width, rheight: result.height}));
      // Image at (0, 0, W, H); result at (-left, -top, result.width, result.height).
      const minX = Math.min(0, -o.left), minY = Math.min(0, -o.top);
      const maxX = Math.max(W, W + o.right), maxY = Math.max(H, H + o.bottom);
      const big = item === main && items.length === 1;
      const maxWidth = big ? Math.max(160, Math.min(560, root.clientWidth - 24)) : 160;
      const maxHeight = big ? 360 : 160;
      const scale = Math.min(maxWidth / (maxX - minX), maxHeight / (maxY - minY), 4);
      canvas.width = Math.max(1, Math.round((maxX - minX) * scale));
      canvas.height = Math.max(1, Math.round((maxY - minY) * scale));
      const ctx = canvas.getContext("2d");
      const px = function (v, min) { return (v - min) * scale; };
      const rx = px(-o.left, minX), ry = px(-o.top, minY);
      const rw = result.width * scale, rh = result.height * scale;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      if (!bad) { ctx.fillStyle = hatch(ctx); ctx.fillRect(rx, ry, rw, rh); }
      const ix = px(0, minX), iy = px(0, minY);
      ctx.drawImage(img, ix, iy, W * scale, H * scale);
      // What the negative offsets crop away: dimmed.
      ctx.save();
      ctx.beginPath();
      ctx.rect(ix, iy, W * scale, H * scale);
      if (!bad) { ctx.rect(rx, ry, rw, rh); }
      ctx.fillStyle = bad ? "rgba(198, 40, 40, 0.45)" : "rgba(40, 40, 40, 0.6)";
      ctx.fill("evenodd");
      ctx.restore();
      if (!bad) {
        ctx.setLineDash([5, 3]);
        ctx.strokeStyle = "#1f6fb2";
        ctx.lineWidth = 2;
        ctx.strokeRect(rx + 1, ry + 1, Math.max(0, rw - 2), Math.max(0, rh - 2));
      }
      item.dataset.resultWidth = result.width;
      item.dataset.resultHeight = result.height;
    }

    function drawAll() { items.forEach(draw); }

    root.querySelectorAll(".imageops-extend").forEach(function (button) {
      button.addEventListener("click", function () {
        const size = main ? sourceSize(main) : null;
        if (!size) { return; }
        const ratio = parseFloat(button.dataset.width) / parseFloat(button.dataset.height);
        const o = {left: 0, right: 0, top: 0, bottom: 0};
        if (size.width / size.height < ratio) {
          const total = Math.round(size.height * ratio) - size.width;
          o.left = Math.floor(total / 2); o.right = total - o.left;
        } else {
          const total = Math.round(size.width / ratio) - size.height;
          o.top = Math.floor(total / 2); o.bottom = total - o.top;
        }
        for (const side of SIDES) { setValue(inputs[side], o[side]); }
        notify(inputs.left);
      });
    });

    root.addEventListener("input", function (event) {
      if (SIDES.includes(event.target.name)) { drawAll(); }
    });
    items.forEach(function (item) { whenLoaded(item.querySelector("img"), function () { draw(item); }); });
  }

  // -- the cost line ------------------------------------------------------------------------
  function costLine(root) {
    const url = root.dataset.estimateUrl;
    const line = root.querySelector(".imageops-cost");
    // The form the fields belong to: their `form` attribute's (the in-place panel), else the
    // enclosing one.
    const field = root.querySelector("input, select, textarea");
    const form = (field && field.form) || root.closest("form");
    if (!url || !line || !form) { return; }
    let timer = null;
    let sequence = 0;
    function refresh() {
      const body = new FormData(form);
      body.set("imageops_estimate", "1");
      const mine = ++sequence;
      root.dataset.estimating = "1";
      fetch(url, {method: "POST", body: body, credentials: "same-origin",
                  headers: {Accept: "application/json", "X-Requested-With": "XMLHttpRequest"}})
        .then(function (response) {
          return response.json().then(function (data) { return {ok: response.ok, data: data}; });
        })
        .then(function (answer) {
          if (mine !== sequence) { return; }
          line.hidden = false;
          line.textContent = answer.ok ? answer.data.summary : text(root, "costInvalid", {});
          line.classList.toggle("imageops-cost-over", answer.ok && answer.data.fits === false);
          line.classList.toggle("imageops-cost-unknown", !answer.ok);
        })
        .catch(function () { /* the line keeps its last figures */ })
        .finally(function () { if (mine === sequence) { delete root.dataset.estimating; } });
    }
    function later() { clearTimeout(timer); timer = setTimeout(refresh, 300); }
    root.addEventListener("input", later);
    root.addEventListener("change", later);
    root.addEventListener("imageops:values", later);
  }

  ns.initOperationForm = function (root) {
    if (!root || root.dataset.imageopsReady) { return; }
    root.dataset.imageopsReady = "1";
    providerToggle(root);
    if (root.dataset.operation === "crop") { cropForm(root); }
    if (root.dataset.operation === "uncrop") { uncropForm(root); }
    costLine(root);
  };

  function init() { document.querySelectorAll(".imageops-form").forEach(ns.initOperationForm); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
