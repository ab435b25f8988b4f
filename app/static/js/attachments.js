/*
 * Attachments on the chat page.
 *
 * - Messanger.renderAttachment(a, mine): the DOM of an attachment A inside a message bubble, the
 *   same markup as templates/chat/_attachment.html (chat.js calls it for live messages).
 * - A full-size view: clicking a picture's thumbnail opens it in an overlay (Escape or a click
 *   outside closes it); the link still opens the picture in a new tab with a modifier key.
 * - The composer: the attach button (file picker), dropping a file on the chat and pasting a
 *   picture upload it at once with XMLHttpRequest (POST /c/<id>/attachments, progress bar, cancel).
 *   Once stored, its id is set on the composer form as data-attachment-id; chat.js sends it with
 *   the next message (the text may then be empty) and fires "attachment:taken" on the form.
 */
(function () {
  "use strict";

  var M = (window.Messanger = window.Messanger || {});
  var SVG_NS = "http://www.w3.org/2000/svg";
  var FILE_ICON =
    "M4.5 2A1.5 1.5 0 0 0 3 3.5v13A1.5 1.5 0 0 0 4.5 18h11a1.5 1.5 0 0 0 1.5-1.5V7.621a1.5 1.5 0 0 0-.44-1.06l-4.12-4.122A1.5 1.5 0 0 0 11.378 2H4.5Zm2.25 8.5a.75.75 0 0 0 0 1.5h6.5a.75.75 0 0 0 0-1.5h-6.5Zm0 3a.75.75 0 0 0 0 1.5h6.5a.75.75 0 0 0 0-1.5h-6.5Z";
  var THUMBNAIL_MAX = 320;

  /** A byte count in words, as the server writes it: "10 MB", "1.5 MB", "200 KB", "12 bytes". */
  function humanSize(size) {
    size = Number(size) || 0;
    if (size >= 1048576) return (size / 1048576).toFixed(1).replace(/\.0$/, "") + " MB";
    if (size >= 1024) return (size / 1024).toFixed(1).replace(/\.0$/, "") + " KB";
    return size + (size === 1 ? " byte" : " bytes");
  }
  M.humanSize = humanSize;

  function element(tag, className, attributes) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    return node;
  }

  function fileIcon() {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "h-8 w-8 shrink-0 opacity-80");
    svg.setAttribute("viewBox", "0 0 20 20");
    svg.setAttribute("fill", "currentColor");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("fill-rule", "evenodd");
    path.setAttribute("d", FILE_ICON);
    path.setAttribute("clip-rule", "evenodd");
    svg.appendChild(path);
    return svg;
  }

  /** The size a thumbnail is shown at: the picture fit within 320x320, never enlarged. */
  function thumbnailSize(a) {
    var width = a.width || THUMBNAIL_MAX;
    var height = a.height || THUMBNAIL_MAX;
    var scale = Math.min(1, THUMBNAIL_MAX / width, THUMBNAIL_MAX / height);
    return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  }

  /** The DOM of attachment A (see templates/chat/_attachment.html, which this mirrors). */
  M.renderAttachment = function (a, mine) {
    if (!a || !a.url) return null;
    var link;
    if (a.kind === "image") {
      link = element(
        "a",
        "block w-fit max-w-full overflow-hidden rounded-xl focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 focus-visible:ring-offset-2",
        { href: a.url, target: "_blank", rel: "noopener", "data-attachment-link": "", "data-attachment-kind": "image", "data-filename": a.filename || "" }
      );
      var size = thumbnailSize(a);
      link.appendChild(
        element("img", "block h-auto max-h-80 max-w-full bg-slate-200 object-contain dark:bg-slate-700", {
          src: a.thumbnail_url,
          alt: a.filename || "",
          width: String(size.width),
          height: String(size.height),
          loading: "lazy",
          decoding: "async"
        })
      );
      return link;
    }
    link = element(
      "a",
      (mine
        ? "bg-white/15 text-white ring-white/30 hover:bg-white/25"
        : "bg-slate-50 text-slate-900 ring-slate-200 hover:bg-slate-100 dark:bg-slate-900 dark:text-slate-100 dark:ring-slate-700 dark:hover:bg-slate-700") +
        " flex max-w-xs items-center gap-3 rounded-xl px-3 py-2 ring-1 ring-inset focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500",
      { href: a.url, download: a.filename || "", "data-attachment-link": "", "data-attachment-kind": "file" }
    );
    link.appendChild(fileIcon());
    var text = element("span", "min-w-0");
    var name = element("span", "block truncate text-sm font-semibold", { "data-attachment-name": "" });
    name.textContent = a.filename || "";
    var sizeLine = element("span", "block text-xs opacity-80", { "data-attachment-size": "" });
    sizeLine.textContent = humanSize(a.size);
    var hint = element("span", "sr-only");
    hint.textContent = ", download";
    sizeLine.appendChild(hint);
    text.appendChild(name);
    text.appendChild(sizeLine);
    link.appendChild(text);
    return link;
  };

  /* ------------------------------------------------------------------ the full-size view */

  var viewer = null;
  var returnFocus = null;

  function closeViewer() {
    if (!viewer) return;
    viewer.remove();
    viewer = null;
    document.removeEventListener("keydown", onViewerKey, true);
    if (returnFocus && returnFocus.focus) returnFocus.focus();
    returnFocus = null;
  }

  function onViewerKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closeViewer();
    }
  }

  function openViewer(link) {
    closeViewer();
    returnFocus = link;
    var name = link.getAttribute("data-filename") || "Picture";
    viewer = element("div", "fixed inset-0 z-50 flex flex-col items-center justify-center gap-3 bg-black/85 p-4", {
      role: "dialog",
      "aria-modal": "true",
      "aria-label": name,
      "data-attachment-viewer": ""
    });
    var bar = element("div", "flex w-full max-w-5xl items-center gap-3 text-sm text-white");
    var title = element("p", "min-w-0 flex-1 truncate font-medium");
    title.textContent = name;
    var open = element("a", "btn btn-ghost btn-sm text-white hover:bg-white/10", {
      href: link.getAttribute("href"),
      target: "_blank",
      rel: "noopener"
    });
    open.textContent = "Open original";
    var close = element("button", "btn btn-ghost btn-sm text-white hover:bg-white/10", { type: "button", "data-viewer-close": "" });
    close.textContent = "Close";
    bar.appendChild(title);
    bar.appendChild(open);
    bar.appendChild(close);
    var picture = element("img", "max-h-[85vh] max-w-full rounded-lg object-contain shadow-2xl", {
      src: link.getAttribute("href"),
      alt: name,
      "data-viewer-image": ""
    });
    viewer.appendChild(bar);
    viewer.appendChild(picture);
    viewer.addEventListener("click", function (event) {
      if (event.target === viewer || event.target === close) closeViewer();
    });
    document.body.appendChild(viewer);
    document.addEventListener("keydown", onViewerKey, true);
    close.focus();
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest ? event.target.closest('a[data-attachment-kind="image"]') : null;
    if (!link) return;
    event.preventDefault();
    openViewer(link);
  });

  /* ------------------------------------------------------------------ the composer */

  function initComposer() {
    var root = document.querySelector("[data-chat]");
    var form = root ? root.querySelector("[data-composer]") : null;
    if (!form || !form.hasAttribute("data-attachments-url") || !window.FormData || !window.XMLHttpRequest) return;
    var picker = form.querySelector("[data-attachment-input]");
    var attachButton = form.querySelector("[data-attach-button]");
    var chip = form.querySelector("[data-attachment-chip]");
    var preview = form.querySelector("[data-attachment-preview]");
    var icon = form.querySelector("[data-attachment-icon]");
    var nameLine = form.querySelector("[data-attachment-chip-name]");
    var sizeLine = form.querySelector("[data-attachment-chip-size]");
    var progress = form.querySelector("[data-attachment-progress]");
    var cancel = form.querySelector("[data-attachment-cancel]");
    var errorLine = form.querySelector("[data-attachment-error]");
    var input = form.querySelector("[data-composer-input]");
    var tokenInput = form.querySelector('input[name="csrf_token"]');
    if (!picker || !attachButton || !chip || !progress || !cancel || !errorLine) return;

    var url = form.getAttribute("data-attachments-url");
    var maxBytes = parseInt(form.getAttribute("data-attachment-max-bytes"), 10) || 0;
    var request = null;

    attachButton.classList.remove("hidden");

    function setError(text) {
      errorLine.textContent = text || "";
    }

    function reset() {
      if (request) {
        var aborted = request;
        request = null;
        aborted.abort();
      }
      form.removeAttribute("data-attachment-id");
      chip.classList.add("hidden");
      chip.setAttribute("data-state", "empty");
      progress.value = 0;
      if (preview) {
        preview.removeAttribute("src");
        preview.classList.add("hidden");
      }
      if (icon) icon.classList.remove("hidden");
      if (input) input.required = true;
      picker.value = "";
    }

    function refusal(xhr) {
      var body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (error) {
        body = null;
      }
      if (body && body.message) return body.message;
      if (xhr.status === 413) return "Files can be at most " + humanSize(maxBytes) + ".";
      if (xhr.status === 429) return "Too many uploads. Wait a moment and try again.";
      if (xhr.status === 400) return "The page has expired. Reload it and try again.";
      return "The upload failed. Please try again.";
    }

    function upload(file) {
      if (!file) return;
      reset();
      setError("");
      if (!file.size) {
        setError("That file is empty.");
        return;
      }
      if (maxBytes && file.size > maxBytes) {
        setError("Files can be at most " + humanSize(maxBytes) + ".");
        return;
      }
      nameLine.textContent = file.name || "Pasted picture";
      sizeLine.textContent = humanSize(file.size);
      chip.setAttribute("data-state", "uploading");
      chip.classList.remove("hidden");
      progress.value = 0;

      var data = new FormData();
      data.append("file", file, file.name || "pasted.png");
      var xhr = new XMLHttpRequest();
      request = xhr;
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", tokenInput ? tokenInput.value : "");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        if (request !== xhr || !event.lengthComputable) return;
        // The last percent waits for the server's answer (it checks and stores the file).
        progress.value = Math.min(99, Math.round((event.loaded / event.total) * 100));
      };
      xhr.onload = function () {
        if (request !== xhr) return;
        request = null;
        var body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (error) {
          body = null;
        }
        if (xhr.status === 201 && body && body.ok && body.attachment) {
          var a = body.attachment;
          progress.value = 100;
          form.setAttribute("data-attachment-id", String(a.id));
          chip.setAttribute("data-state", "ready");
          nameLine.textContent = a.filename;
          sizeLine.textContent = humanSize(a.size);
          if (a.kind === "image" && preview && a.thumbnail_url) {
            preview.setAttribute("src", a.thumbnail_url);
            preview.setAttribute("alt", a.filename);
            preview.classList.remove("hidden");
            if (icon) icon.classList.add("hidden");
          }
          if (input) {
            input.required = false;
            input.focus();
          }
          M.pendingAttachment = a;
          return;
        }
        var message = refusal(xhr);
        reset();
        setError(message);
      };
      xhr.onerror = function () {
        if (request !== xhr) return;
        request = null;
        reset();
        setError("The upload failed. Check your connection and try again.");
      };
      xhr.send(data);
    }

    attachButton.addEventListener("click", function () {
      picker.click();
    });
    picker.addEventListener("change", function () {
      if (picker.files && picker.files[0]) upload(picker.files[0]);
    });
    cancel.addEventListener("click", function () {
      reset();
      setError("");
      M.pendingAttachment = null;
      if (input) input.focus();
    });
    // chat.js took the file with a message it sends: the composer is free for the next one.
    form.addEventListener("attachment:taken", function () {
      request = null;
      M.pendingAttachment = null;
      reset();
      setError("");
    });

    function hasFiles(event) {
      var types = event.dataTransfer && event.dataTransfer.types;
      return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
    }
    var dragDepth = 0;
    root.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dragDepth += 1;
      root.setAttribute("data-dropping", "true");
    });
    root.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    root.addEventListener("dragleave", function () {
      dragDepth = Math.max(0, dragDepth - 1);
      if (!dragDepth) root.removeAttribute("data-dropping");
    });
    root.addEventListener("drop", function (event) {
      dragDepth = 0;
      root.removeAttribute("data-dropping");
      if (!hasFiles(event)) return;
      event.preventDefault();
      var files = event.dataTransfer.files;
      if (files && files[0]) upload(files[0]);
    });

    if (input) {
      input.addEventListener("paste", function (event) {
        var items = (event.clipboardData && event.clipboardData.files) || [];
        for (var index = 0; index < items.length; index += 1) {
          if (/^image\//.test(items[index].type)) {
            event.preventDefault();
            upload(items[index]);
            return;
          }
        }
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initComposer);
  else initComposer();
})();
