/*
 * ClippingMagic.js stand-in served by the django-imageops vendor sandbox at
 * /clippingmagic/api/v1/ClippingMagic.js. Same surface as the real library:
 *
 *   var errors = ClippingMagic.initialize({apiId: 123});   // [] = the browser is fine
 *   ClippingMagic.edit({image: {id: 2345, secret: "..."}, locale: "en-US"}, callback);
 *
 * Instead of the real editor it shows a small overlay: "Save" asks the sandbox to store a new
 * result (POST /_sandbox/clippingmagic/{id}/edit, which bumps resultRevision) and then calls
 * callback({event: "result-generated", image: {id, secret}}); "Close" calls
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
      var image = (opts && opts.image) || {};
      if (apiId === null) {
        callback({event: "error", error: {status: 400, code: 1000,
                                          message: "Call ClippingMagic.initialize() first"}});
        return;
      }
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
      title.textContent = "ClippingMagic editor (sandbox) - image " + image.id;
      var status = document.createElement("p");
      status.className = "clippingmagic-status";
      var save = button("Save", "save");
      var close = button("Close", "close");
      panel.appendChild(title);
      panel.appendChild(save);
      panel.appendChild(close);
      panel.appendChild(status);
      overlay.appendChild(panel);
      document.body.appendChild(overlay);

      save.addEventListener("click", function () {
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
