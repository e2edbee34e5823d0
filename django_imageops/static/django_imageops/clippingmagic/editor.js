/*
 * django_imageops: the embedded ClippingMagic editor page.
 *
 * Reads its data from the json_script block #imageops-editor-config:
 *   {apiId, image: {id, secret} | null, locale, status, resultRevision,
 *    callbackUrl, statusUrl, pollInterval (s), pollTimeout (s), text: {...}}
 * Flow: ClippingMagic.initialize({apiId}) -> browser-feature errors are shown instead of the
 * editor; else ClippingMagic.edit({image, locale}, callback), at once for a job waiting for the
 * editor, on the "Edit again" button for a job that has a stored result. On
 * "result-generated" the image id is POSTed (X-CSRFToken) to callbackUrl, which enqueues the
 * download; the page then polls
 * statusUrl until a newer result revision is stored and shows it. "editor-exit" leaves the job
 * waiting; "error" is shown and POSTed so that it is recorded on the job.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("imageops-editor-config");
  if (!configElement) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var text = config.text || {};

  var messageEl = document.getElementById("imageops-editor-message");
  var errorsEl = document.getElementById("imageops-editor-errors");
  var progressEl = document.getElementById("imageops-editor-progress");
  var openButton = document.getElementById("imageops-editor-open");
  var resultFigure = document.getElementById("imageops-editor-result");
  var resultImage = document.getElementById("imageops-editor-result-image");
  var resultCaption = document.getElementById("imageops-editor-result-caption");
  var jobStatusEl = document.getElementById("imageops-editor-job-status");
  var root = document.getElementById("imageops-editor");

  var lastRevision = config.resultRevision || 0;
  var generatedThisSession = false;
  var polling = false;

  function setMessage(message) {
    messageEl.textContent = message;
  }

  function setState(state) {
    root.setAttribute("data-state", state);
  }

  function showErrors(heading, errors) {
    errorsEl.textContent = "";
    var p = document.createElement("p");
    p.textContent = heading;
    errorsEl.appendChild(p);
    var list = document.createElement("ul");
    errors.forEach(function (error) {
      var item = document.createElement("li");
      item.textContent = String(error);
      list.appendChild(item);
    });
    errorsEl.appendChild(list);
    errorsEl.hidden = false;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function sleep(seconds) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, seconds * 1000);
    });
  }

  function postEvent(payload) {
    return fetch(config.callbackUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(),
        "X-Requested-With": "XMLHttpRequest",
      },
      body: JSON.stringify(payload),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!response.ok) {
            throw new Error(data.error || response.status + " " + response.statusText);
          }
          return data;
        });
    });
  }

  function fetchStatus() {
    return fetch(config.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(response.status + " " + response.statusText);
      }
      return response.json();
    });
  }

  function showStatus(data) {
    if (jobStatusEl && data.status_display) {
      jobStatusEl.textContent = data.status_display;
    }
    root.setAttribute("data-status", data.status);
  }

  function showResult(data) {
    resultImage.src = data.result.url;
    resultCaption.textContent = (text.size || "%(width)s × %(height)s px")
      .split("%(width)s").join(String(data.result.width))
      .split("%(height)s").join(String(data.result.height));
    resultFigure.hidden = false;
    progressEl.hidden = true;
    setMessage(text.downloaded);
    setState("result-stored");
    offerToEditAgain();
  }

  /* The result is stored: the editor stays closed; a button opens it again. */
  function offerToEditAgain() {
    openButton.textContent = text.editAgain;
    openButton.hidden = false;
  }

  /* Poll the status endpoint until a newer result revision is stored (or the job failed). */
  function pollForResult(data) {
    if (polling) {
      return;
    }
    polling = true;
    var deadline = Date.now() + (config.pollTimeout || 120) * 1000;
    progressEl.hidden = false;
    setState("downloading");

    function check(current) {
      showStatus(current);
      if (current.result && current.result_revision > lastRevision) {
        lastRevision = current.result_revision;
        polling = false;
        showResult(current);
        return null;
      }
      if (current.status === "failed" || current.status === "canceled") {
        polling = false;
        progressEl.hidden = true;
        setState("failed");
        showErrors(text.failed, [current.error ? current.error.message : current.status_display]);
        return null;
      }
      if (Date.now() > deadline) {
        polling = false;
        progressEl.hidden = true;
        setMessage(text.slow);
        setState("slow");
        return null;
      }
      return sleep(config.pollInterval || 1).then(fetchStatus).then(check);
    }

    return Promise.resolve(data ? check(data) : fetchStatus().then(check)).catch(function (err) {
      polling = false;
      progressEl.hidden = true;
      showErrors(text.callbackFailed, [err.message]);
      setState("callback-failed");
    });
  }

  function onEditorEvent(opts) {
    switch (opts && opts.event) {
      case "result-generated":
        generatedThisSession = true;
        setMessage(text.saving);
        setState("saving");
        postEvent({ event: "result-generated", image: { id: opts.image.id } })
          .then(pollForResult)
          .catch(function (err) {
            showErrors(text.callbackFailed, [err.message]);
            setState("callback-failed");
          });
        break;
      case "editor-exit":
        openButton.hidden = false;
        if (!generatedThisSession) {
          setMessage(text.exited);
          setState("exited");
        }
        break;
      case "error":
        var error = opts.error || {};
        showErrors(text.editorError, [error.message || error.code || "?"]);
        setState("editor-error");
        openButton.hidden = false;
        postEvent({
          event: "error",
          error: { status: error.status, code: error.code, message: error.message },
        }).catch(function () {
          /* already shown; recording it is best effort */
        });
        break;
      default:
        break;
    }
  }

  function openEditor() {
    openButton.hidden = true;
    errorsEl.hidden = true;
    setMessage(text.opening);
    setState("editing");
    window.ClippingMagic.edit(
      { image: config.image, locale: config.locale, useStickySettings: false },
      onEditorEvent
    );
  }

  /* The image is not on ClippingMagic yet: reload once it is (the page then gets its secret). */
  function waitUntilReady() {
    setState("preparing");
    progressEl.hidden = false;
    function check(data) {
      showStatus(data);
      if (data.editor_ready) {
        window.location.reload();
        return null;
      }
      if (data.finished) {
        progressEl.hidden = true;
        setMessage(text.notEditable);
        if (data.error) {
          showErrors(text.failed, [data.error.message]);
        }
        setState("not-editable");
        return null;
      }
      return sleep(Math.max(config.pollInterval || 1, 2))
        .then(fetchStatus)
        .then(check);
    }
    fetchStatus()
      .then(check)
      .catch(function (err) {
        progressEl.hidden = true;
        showErrors(text.callbackFailed, [err.message]);
      });
  }

  function start() {
    if (!config.image) {
      if (config.status === "pending" || config.status === "running") {
        waitUntilReady();
      } else {
        setState("not-editable");
      }
      return;
    }
    if (typeof window.ClippingMagic === "undefined") {
      showErrors(text.jsMissing, []);
      setMessage("");
      setState("js-missing");
      return;
    }
    var errors = window.ClippingMagic.initialize({ apiId: config.apiId });
    if (errors && errors.length) {
      showErrors(text.unsupported, errors);
      setMessage("");
      setState("unsupported");
      return;
    }
    openButton.addEventListener("click", openEditor);
    if (config.status === "succeeded") {
      // A stored result: show it; the editor opens only when asked (not on every visit).
      setMessage(text.stored);
      setState("result-stored");
      offerToEditAgain();
      return;
    }
    openEditor();
  }

  start();
})();
