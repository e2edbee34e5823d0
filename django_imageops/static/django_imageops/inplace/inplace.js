/* django-imageops: the operations on one object, in its own page (django_imageops.inplace).
 *
 * A button (.imageops-op-button, data-form-url) opens the operation's form in the panel next to
 * it; "Run" queues the job (POST, 202 JSON), the panel then polls the job (its status_url) and
 * shows the progress, then the before/after at one scale with "apply" and "discard".
 *
 * The panel sits inside the page's own <form> (e.g. the admin change form): its inputs are tied
 * to a separate <form> at the end of <body> with the `form` attribute, so saving the page never
 * sends them and Enter in the panel runs the operation, not "Save". One panel is open at a time.
 * No framework is assumed: any admin (Django's, Wagtail's) serving the JSON contract of
 * django_imageops.inplace.panel_payload can use it.
 */
"use strict";
(function () {
  const ns = (window.djangoImageops = window.djangoImageops || {});
  const FORM_ID = "imageops-panel-form";
  let current = null;

  function words(state, key, values) {
    let messages = state.group._imageopsText;
    if (!messages) {
      try { messages = JSON.parse(state.group.dataset.text || "{}"); } catch (e) { messages = {}; }
      state.group._imageopsText = messages;
    }
    let message = messages[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      message = message.split("%(" + name + ")s").join(String(value));
    }
    return message;
  }

  function csrfToken(state) {
    const input = state.panel.querySelector("[name=csrfmiddlewaretoken]") ||
      document.querySelector("[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") { node.textContent = value; } else { node.setAttribute(name, value); }
    }
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function close() {
    if (!current) { return; }
    clearTimeout(current.timer);
    current.closed = true;
    current.panel.hidden = true;
    current.panel.replaceChildren();
    current.form.remove();
    current.button.setAttribute("aria-expanded", "false");
    current.group.classList.remove("imageops-ops-open");
    current.button.focus();
    current = null;
  }

  function fail(state, message) {
    const note = el("p", {class: "errornote imageops-panel-error", role: "alert",
                          text: words(state, "error") + " " + message});
    state.panel.prepend(note);
  }

  // -- the form ------------------------------------------------------------------------------
  function showForm(state, html) {
    state.panel.innerHTML = html;
    const action = state.panel.querySelector(".imageops-panel-form");
    if (action) { state.form.action = action.dataset.action; }
    state.panel.querySelectorAll("input, select, textarea, button").forEach(function (node) {
      node.setAttribute("form", FORM_ID);
    });
    const root = state.panel.querySelector(".imageops-form");
    if (root && ns.initOperationForm) { ns.initOperationForm(root); }
    const cancel = state.panel.querySelector(".imageops-close");
    if (cancel) { cancel.addEventListener("click", close); }
    const run = state.panel.querySelector(".imageops-run");
    if (run) { run.focus({preventScroll: true}); }
    state.group.dataset.state = "form";
  }

  function open(group, button) {
    close();
    const form = el("form", {id: FORM_ID, method: "post", hidden: ""});
    document.body.appendChild(form);
    const state = {group: group, button: button, form: form,
                   panel: group.querySelector(".imageops-panel"), timer: null, closed: false};
    current = state;
    button.setAttribute("aria-expanded", "true");
    group.classList.add("imageops-ops-open");
    state.panel.hidden = false;
    state.panel.replaceChildren(el("p", {class: "imageops-loading", text: words(state, "loading")}));
    form.addEventListener("submit", function (event) { event.preventDefault(); run(state); });
    fetch(button.dataset.formUrl, {credentials: "same-origin",
                                   headers: {"X-Requested-With": "XMLHttpRequest"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.text();
      })
      .then(function (html) { if (!state.closed) { showForm(state, html); } })
      .catch(function (error) { if (!state.closed) { fail(state, error.message); } });
  }

  function run(state) {
    const button = state.panel.querySelector(".imageops-run");
    if (button) { button.disabled = true; }
    fetch(state.form.action, {
      method: "POST", body: new FormData(state.form), credentials: "same-origin",
      headers: {"X-Requested-With": "XMLHttpRequest", Accept: "application/json"},
    })
      .then(function (response) {
        if (response.status === 202) {
          return response.json().then(function (job) { follow(state, job); });
        }
        if (response.status === 400) {
          return response.text().then(function (html) { showForm(state, html); });
        }
        throw new Error(response.status + " " + response.statusText);
      })
      .catch(function (error) {
        if (button) { button.disabled = false; }
        fail(state, error.message);
      });
  }

  // -- the job -------------------------------------------------------------------------------
  function figure(state, key, url, caption) {
    const img = el("img", {src: url, alt: words(state, key), class: "imageops-compare-image"});
    const fig = el("figure", {class: "imageops-compare-" + key},
                   [img, el("figcaption", {text: caption})]);
    // One scale for both: each figure grows in proportion to its image's natural width.
    function fit() { fig.style.flex = img.naturalWidth + " 1 0"; fig.dataset.width = img.naturalWidth; }
    if (img.complete && img.naturalWidth) { fit(); } else { img.addEventListener("load", fit); }
    return fig;
  }

  function statusLine(state, job) {
    let message = "";
    if (job.status === "pending") { message = words(state, "queued"); }
    else if (job.status === "running") { message = words(state, "running"); }
    else if (job.waiting) { message = words(state, "waiting"); }
    else if (job.status === "failed") {
      message = words(state, "failed") + " " + (job.error ? job.error.message : "");
    } else if (job.status === "canceled") { message = words(state, "canceled"); }
    const badge = el("span", {class: "imageops-badge imageops-" + job.status,
                              text: job.status_display});
    return el("p", {class: "imageops-job-status", role: "status"},
              [badge, document.createTextNode(" " + message)]);
  }

  function render(state, job) {
    const view = el("div", {class: "imageops-job", "data-status": job.status,
                            "data-uuid": job.uuid});
    view.appendChild(statusLine(state, job));
    const compare = el("div", {class: "imageops-compare"});
    if (job.before) { compare.appendChild(figure(state, "before", job.before.url, words(state, "before"))); }
    if (job.after) {
      const size = job.after.width ? " · " + words(state, "size", job.after) : "";
      compare.appendChild(figure(state, "after", job.after.url, words(state, "after") + size));
    }
    view.appendChild(compare);
    if (job.applied_text) {
      const note = el("p", {class: "imageops-applied", role: "status", text: job.applied_text});
      if (job.applied_url) {
        note.appendChild(document.createTextNode(" "));
        note.appendChild(el("a", {href: job.applied_url, class: "imageops-applied-link",
                                  text: words(state, "openApplied")}));
      }
      view.appendChild(note);
    }
    const actions = el("div", {class: "imageops-panel-actions"});
    if (job.apply) {
      const apply = el("button", {type: "button", class: "button default imageops-apply",
                                  text: job.apply.label});
      apply.addEventListener("click", function () { applyResult(state, job.apply.url, apply); });
      actions.appendChild(apply);
    }
    if (job.editor_url) {
      actions.appendChild(el("a", {href: job.editor_url, class: "button imageops-editor",
                                   target: "_blank", rel: "noopener",
                                   text: words(state, "openEditor")}));
    }
    const dismiss = el("button", {type: "button", class: "button imageops-discard",
                                  text: words(state, job.apply ? "discard" : "close")});
    dismiss.addEventListener("click", close);
    actions.appendChild(dismiss);
    if (job.job_url) {
      actions.appendChild(el("a", {href: job.job_url, class: "imageops-job-link",
                                   text: words(state, "jobPage")}));
    }
    view.appendChild(actions);
    state.panel.replaceChildren(view);
    state.group.dataset.state = job.finished ? "finished" : "running";
    if (job.applied && !state.refreshed) {
      // Applied here or by the job itself (a result matching a derived field's declaration).
      state.refreshed = true;
      refreshField(job.applied_field).finally(function () {
        state.group.dataset.state = "applied";
      });
    }
  }

  function follow(state, job) {
    if (state.closed) { return; }
    render(state, job);
    if (job.finished) { return; }
    const seconds = (job.waiting ? 5 : job.poll_interval || 1) * 1000;
    state.timer = setTimeout(function () {
      fetch(job.status_url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
          return response.json();
        })
        .then(function (next) { follow(state, Object.assign({status_url: job.status_url,
                                                             poll_interval: job.poll_interval}, next)); })
        .catch(function () { follow(state, job); });
    }, seconds);
  }

  function applyResult(state, url, button) {
    button.disabled = true;
    fetch(url, {method: "POST", credentials: "same-origin",
                headers: {"X-CSRFToken": csrfToken(state), Accept: "application/json"}})
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.error || response.statusText); }
          return data;
        });
      })
      .then(function (job) {
        render(state, job);
        // The page shows the object as it was (e.g. Wagtail's edit page: the file, its size
        // and focal point): load it again.
        if (job.reload_after_apply) { window.location.reload(); }
      })
      .catch(function (error) { button.disabled = false; fail(state, error.message); });
  }

  // The field a result went into, shown again as the server renders it now (the page's other
  // fields, and the open panel, are left as they are).
  function refreshField(name) {
    if (!name) { return Promise.resolve(); }
    const selector = ".field-" + name + " .imageops-widget";
    const here = document.querySelector(selector);
    if (!here) { return Promise.resolve(); }
    return fetch(window.location.href, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : Promise.reject(); })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
        if (fresh) { here.replaceChildren(...Array.from(fresh.childNodes)); }
      })
      .catch(function () { /* the page shows it after a reload */ });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest(".imageops-op-button");
    if (!button) { return; }
    event.preventDefault();
    if (current && current.button === button) { close(); return; }
    open(button.closest(".imageops-ops"), button);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && current) { close(); }
  });
  ns.closeOperationPanel = close;
})();
