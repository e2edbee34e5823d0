/*
 * ClippingMagic.js stand-in served by the django-imageops vendor sandbox at
 * /clippingmagic/api/v1/ClippingMagic.js. Same surface as the real library:
 *
 *   var errors = ClippingMagic.initialize({apiId: 123});   // [] = the browser is fine
 *   ClippingMagic.edit({image: {id: 2345, secret: "..."}, locale: "en-US"}, callback);
 *   ClippingMagic.edit({images: [{id: 2345, secret: "..."}, {id: 2346, secret: "..."}]},
 *                      callback);                           // several images, one after another
 *
 * Instead of the real editor it shows a small overlay for the current image: "Save" asks the
 * sandbox to store a new result (POST /_sandbox/clippingmagic/{id}/edit, which bumps
 * resultRevision) and then calls callback({event: "result-generated", image: {id, secret}}),
 * closing the overlay when it edits one image (the person is done, as with the real editor);
 * with several images, "Previous" and "Next" move between them; "Close" calls
 * callback({event: "editor-exit"}). A failed save calls callback({event: "error", error: {...}}).
 */
(function (global) {
  "use strict";

  var script = document.currentScript;
  var sandboxRoot = script && script.src
    ? script.src.replace(/\/clippingmagic\/api\/v1\/ClippingMagic\.js.*$/, "")
    : "";
  var apiId = null;
  var overlay = null;

  function closeOverlay() {
    if (overlay && overlay.parentNode) {
      overlay.parentNode.removeChild(overlay);
    }
    overlay = null;
  }

  function button(label, name) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.setAttribute("data-clippingmagic", name);
    b.style.margin = "0 0.5em";
    b.style.padding = "0.4em 1.2em";
    return b;
  }

  var ClippingMagic = {
    sandbox: true,

    initialize: function (opts) {
      apiId = opts && opts.apiId;
      var errors = [];
      if (!global.fetch) {
        errors.push("This browser lacks fetch(), which the editor needs.");
      }
      return errors;
    },

    edit: function (opts, callback) {
      callback = callback || function () {};
      var images = (opts && (opts.images || (opts.image ? [opts.image] : []))) || [];
      if (apiId === null) {
        callback({event: "error", error: {status: 400, code: 1000,
                                          message: "Call ClippingMagic.initialize() first"}});
        return;
      }
      if (!images.length || !images.every(function (i) { return i && i.id && i.secret; })) {
        callback({event: "error", error: {status: 400, code: 1002,
                                          message: "edit() needs image or images: {id, secret}"}});
        return;
      }
      var current = 0;
      closeOverlay();
      overlay = document.createElement("div");
      overlay.id = "clippingmagic-editor";
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("lang", (opts && opts.locale) || "en-US");
      overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,0.6);" +
        "display:flex;align-items:center;justify-content:center;z-index:2147483647";
      var panel = document.createElement("div");
      panel.style.cssText = "background:#fff;color:#222;padding:1.5em 2em;border-radius:6px;" +
        "font:15px sans-serif;text-align:center;min-width:18em";
      var title = document.createElement("p");
      var status = document.createElement("p");
      status.className = "clippingmagic-status";
      var previous = button("Previous", "previous");
      var save = button("Save", "save");
      var next = button("Next", "next");
      var close = button("Close", "close");
      panel.appendChild(title);
      if (images.length > 1) {
        panel.appendChild(previous);
      }
      panel.appendChild(save);
      if (images.length > 1) {
        panel.appendChild(next);
      }
      panel.appendChild(close);
      panel.appendChild(status);
      overlay.appendChild(panel);
      document.body.appendChild(overlay);

      function show(index) {
        current = index;
        var image = images[current];
        title.textContent = "ClippingMagic editor (sandbox) - image " + image.id +
          (images.length > 1 ? " (" + (current + 1) + " of " + images.length + ")" : "");
        overlay.setAttribute("data-image-id", String(image.id));
        previous.disabled = current === 0;
        next.disabled = current === images.length - 1;
        status.textContent = "";
      }
      show(0);

      previous.addEventListener("click", function () {
        if (current > 0) {
          show(current - 1);
        }
      });
      next.addEventListener("click", function () {
        if (current < images.length - 1) {
          show(current + 1);
        }
      });
      save.addEventListener("click", function () {
        var image = images[current];
        save.disabled = true;
        status.textContent = "Saving...";
        var body = JSON.stringify({secret: image.secret, apiId: apiId});
        fetch(sandboxRoot + "/_sandbox/clippingmagic/" + encodeURIComponent(image.id) + "/edit", {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: body
        }).then(function (response) {
          return response.json().then(function (data) {
            if (!response.ok) {
              throw {status: response.status, code: 0, message: data.error || "save failed"};
            }
            return data;
          });
        }).then(function (data) {
          status.textContent = "Saved (revision " + data.image.resultRevision + ")";
          save.disabled = false;
          if (images.length === 1) {
            closeOverlay();  // one image: saving it is done, as in the real editor
          }
          callback({event: "result-generated", image: {id: image.id, secret: image.secret}});
        }, function (err) {
          save.disabled = false;
          status.textContent = "Save failed";
          callback({event: "error", error: {status: err.status || 0, code: err.code || 0,
                                            message: err.message || String(err)}});
        });
      });
      close.addEventListener("click", function () {
        closeOverlay();
        callback({event: "editor-exit"});
      });
    }
  };

  global.ClippingMagic = ClippingMagic;
})(window);
