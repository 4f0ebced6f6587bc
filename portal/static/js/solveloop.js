/* Solveloop's behaviour, all in one file (the CSP forbids inline scripts and handlers).
 * - every htmx request carries the CSRF token;
 * - error fragments (4xx) are swapped in, whole pages never are;
 * - the request form's suggestions behave as an ARIA combobox with a live count;
 * - the request draft survives a visit to a suggested article;
 * - a file over the size limit, or one too many, is caught before the form is sent;
 * - the header navigation folds behind a Menu button on phones.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* ---- htmx: CSRF header, suggestion query, error swaps ---- */

  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (detail.verb && detail.verb.toLowerCase() !== "get") {
      detail.headers["X-CSRFToken"] = csrfToken();
    }
    if (detail.elt && detail.elt.form && detail.elt.form.querySelector("[data-suggest-input]") &&
        (detail.elt.hasAttribute("data-suggest-input") || detail.elt.hasAttribute("data-suggest-extra"))) {
      configureSuggestRequest(event);
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr ? detail.xhr.status : 0;
    var body = detail.serverResponse || "";
    // A redirect to the sign-in page (an expired session) must not land inside a panel.
    if (/<html[\s>]/i.test(body)) {
      detail.shouldSwap = false;
      var url = detail.xhr && detail.xhr.responseURL ? new URL(detail.xhr.responseURL) : null;
      if (url && url.origin === window.location.origin && /\/login$/.test(url.pathname)) {
        url.search = "?next=" + encodeURIComponent(window.location.pathname + window.location.search);
        window.location.assign(url.toString());
      }
      return;
    }
    // Our error fragments (422 preview errors, 429 rate limits…) are meant to be shown.
    if (status >= 400 && status < 500) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  /* ---- Request form: suggestions as a combobox ---- */

  var CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
  var SYMPTOM_CHARS = 150;
  var SYMPTOM_HEAD_CHARS = 80;
  var QUERY_CHARS = 500;

  function suggestInput() {
    return document.querySelector("[data-suggest-input]");
  }

  // Cut long text; a trailing space tells the index its last word is complete (no prefix).
  function clip(text, limit) {
    return text.length <= limit ? text : text.slice(0, limit) + " ";
  }

  // The search index treats the last, unfinished word as a prefix ("vp" → "VPN"), so the
  // field being typed goes last; a short head of the symptom adds context.
  function suggestText(form, trigger) {
    var subject = form.querySelector("[data-suggest-input]");
    var symptom = form.querySelector("[data-suggest-extra]");
    var title = subject ? subject.value.trim() : "";
    var body = symptom ? symptom.value.replace(/^\s+/, "") : "";
    var text;
    if (trigger === symptom) {
      text = title + "\n" + clip(body, SYMPTOM_CHARS);
    } else {
      text = (body.trim() ? clip(body.trim(), SYMPTOM_HEAD_CHARS) + "\n" : "") + subject.value.replace(/^\s+/, "");
    }
    return text.replace(/^\s+/, "").slice(0, QUERY_CHARS);
  }

  // Suggestions start at 3 characters, or 2 when the text starts with a Chinese character.
  function longEnough(text) {
    if (!text) return false;
    return text.length >= (CJK.test(text.charAt(0)) ? 2 : 3);
  }

  function configureSuggestRequest(event) {
    var form = event.detail.elt.form;
    var subject = form.querySelector("[data-suggest-input]");
    var text = suggestText(form, event.detail.elt);
    if (!longEnough(text.trim())) {
      event.preventDefault();
      resetSuggestions(subject);
      return;
    }
    var params = event.detail.parameters;
    // The view reads ?q=; ?subject= lets the fragment link back with the subject only.
    if (typeof params.set === "function") {
      params.set("q", text);
      params.set("subject", subject.value.trim().slice(0, 200));
      params.delete("symptom");
    } else {
      params.q = text;
      params.subject = subject.value.trim().slice(0, 200);
      delete params.symptom;
    }
  }

  function resetSuggestions(input) {
    var panel = document.getElementById("suggestions");
    if (!panel || !input) return;
    var hint = panel.querySelector(".suggest-hint");
    if (!hint) {
      // Back to the page's initial state: the hint and an empty listbox.
      var template = panel.getAttribute("data-initial");
      if (template !== null) panel.innerHTML = template;
    }
    syncCombobox(input);
    announce("");
  }

  function options() {
    var list = document.getElementById("suggestion-list");
    return list ? Array.prototype.slice.call(list.querySelectorAll('[role="option"]')) : [];
  }

  function listVisible() {
    var list = document.getElementById("suggestion-list");
    return !!list && !list.hidden && options().length > 0;
  }

  function activeIndex() {
    var all = options();
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("aria-selected") === "true") return i;
    }
    return -1;
  }

  function setActive(input, index) {
    var all = options();
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0 && all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function syncCombobox(input) {
    input.setAttribute("aria-expanded", listVisible() ? "true" : "false");
    setActive(input, -1);
  }

  function announce(text) {
    var region = document.getElementById("suggest-status");
    if (region && region.textContent !== text) region.textContent = text;
  }

  function openList(input) {
    var list = document.getElementById("suggestion-list");
    if (list && options().length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
  }

  function closeList(input) {
    var list = document.getElementById("suggestion-list");
    if (list) list.hidden = true;
    setActive(input, -1);
    input.setAttribute("aria-expanded", "false");
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-suggest-input")) return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    var all = options();
    var index = activeIndex();
    switch (event.key) {
      case "ArrowDown":
        if (!all.length) return;
        event.preventDefault();
        openList(input);
        setActive(input, index + 1 >= all.length ? 0 : index + 1);
        break;
      case "ArrowUp":
        if (!all.length) return;
        event.preventDefault();
        openList(input);
        setActive(input, index <= 0 ? all.length - 1 : index - 1);
        break;
      case "Enter":
        if (listVisible() && index >= 0) {
          event.preventDefault();
          window.location.assign(all[index].href);
        }
        break;
      case "Escape":
        if (listVisible()) {
          event.preventDefault();
          closeList(input);
        }
        break;
      default:
        break;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "suggestions") return;
    var input = suggestInput();
    if (!input) return;
    syncCombobox(input);
    var note = target.querySelector("[data-announce]");
    announce(note ? note.textContent.trim() : "");
  });

  /* ---- Request draft: kept in this tab while the user reads a suggested article ---- */

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && el.type !== "hidden" &&
        el.type !== "submit" && el.type !== "button" && el.type !== "file";
    });
  }

  function setupDraft(form) {
    var key = form.getAttribute("data-draft-key");
    var storage;
    try {
      storage = window.sessionStorage;
    } catch (e) {
      return;
    }
    if (!storage) return;
    var saved = null;
    try {
      saved = JSON.parse(storage.getItem(key) || "null");
    } catch (e) {
      saved = null;
    }
    if (saved && typeof saved === "object") {
      // A re-rendered (invalid) submission already holds the user's text: only a fresh form is restored.
      var symptom = form.querySelector("[data-suggest-extra]");
      var fresh = !symptom || symptom.value.trim() === "";
      draftFields(form).forEach(function (el) {
        if (!Object.prototype.hasOwnProperty.call(saved, el.name)) return;
        if (el.tagName === "SELECT") {
          var known = Array.prototype.some.call(el.options, function (o) { return o.value === saved[el.name]; });
          if (fresh && known) el.value = saved[el.name];
        } else if (el.value.trim() === "") {
          // Never overwrite what the server filled in (a subject from ?q=, the contact).
          el.value = saved[el.name];
        }
      });
    }
    var save = function () {
      var data = {};
      draftFields(form).forEach(function (el) { data[el.name] = el.value; });
      try { storage.setItem(key, JSON.stringify(data)); } catch (e) { /* storage full or blocked */ }
    };
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", function () { forgetDraft(key); });
  }

  function forgetDraft(key) {
    try { window.sessionStorage.removeItem(key); } catch (e) { /* storage blocked */ }
  }

  /* ---- Attachments: the limits checked in the browser too, so no typed text is lost ---- */

  function setupFileLimits(input) {
    var check = function () {
      var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
      var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
      var files = Array.prototype.slice.call(input.files || []);
      var problem = "";
      if (maxFiles && files.length > maxFiles) {
        problem = input.getAttribute("data-too-many") || "";
      } else if (maxBytes && files.some(function (f) { return f.size > maxBytes; })) {
        problem = input.getAttribute("data-too-large") || "";
      }
      input.setCustomValidity(problem);
      return problem;
    };
    input.addEventListener("change", function () { if (check()) input.reportValidity(); });
    if (input.form) {
      input.form.addEventListener("submit", function (event) {
        if (check()) {
          event.preventDefault();
          input.reportValidity();
        }
      });
    }
  }

  /* ---- Header menu on phones ---- */

  function setupMenu() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // After a rejected submission, start where the first problem is.
  function focusFirstError() {
    var field = document.querySelector(".field-invalid input, .field-invalid textarea, .field-invalid select");
    if (field) field.focus();
  }

  function init() {
    setupMenu();
    focusFirstError();
    var panel = document.getElementById("suggestions");
    if (panel) panel.setAttribute("data-initial", panel.innerHTML);
    var input = suggestInput();
    if (input) syncCombobox(input);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-draft-key]"), setupDraft);
    Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-max-bytes]"), setupFileLimits);
    // "This solved my problem" ends the request: its draft is no longer needed.
    Array.prototype.forEach.call(document.querySelectorAll("form[data-forget-draft]"), function (form) {
      form.addEventListener("submit", function () { forgetDraft(form.getAttribute("data-forget-draft")); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

/* Drafting from a ticket: "Hide the selection" adds the text selected in the draft to the
 * hide-by-hand list and checks the draft again (the server redacts it everywhere). */
(function () {
  "use strict";
  var form = document.querySelector("[data-draft-review]");
  if (!form) { return; }
  var button = form.querySelector("[data-hide-selection]");
  var draft = form.querySelector("[data-draft-text]");
  var list = form.querySelector("textarea[name=hide_new]");
  var apply = form.querySelector("[data-review-apply]");
  if (!button || !draft || !list || !apply) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var selection = window.getSelection();
    var text = selection ? selection.toString().replace(/\s+/g, " ").trim() : "";
    if (!text || !selection.rangeCount || !draft.contains(selection.getRangeAt(0).commonAncestorContainer)) {
      list.focus();
      return;
    }
    list.value = (list.value ? list.value.replace(/\s+$/, "") + "\n" : "") + text;
    form.requestSubmit(apply);
  });
})();

/* Article pickers: "insert" puts the article's title and address into the form's message
 * at the cursor, and tells the server which article was cited (a hidden "cites" field). */
(function () {
  "use strict";

  // Enter in a picker's search box searches; it must not send the form around it.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches &&
        event.target.matches("[data-article-picker] input[type='search']")) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-insert-article]") : null;
    if (!button) {
      return;
    }
    var form = button.closest("form");
    var box = form ? form.querySelector("textarea[name='body']") : null;
    if (!box) {
      return;
    }
    var text = button.getAttribute("data-insert-text");
    var start = typeof box.selectionStart === "number" ? box.selectionStart : box.value.length;
    var end = typeof box.selectionEnd === "number" ? box.selectionEnd : start;
    var before = box.value.slice(0, start);
    var lead = before && !/\s$/.test(before) ? "\n" : "";
    box.value = before + lead + text + "\n" + box.value.slice(end);
    var caret = (before + lead + text + "\n").length;
    box.setSelectionRange(caret, caret);
    box.focus();
    var id = button.getAttribute("data-insert-article");
    if (!form.querySelector("input[name='cites'][value='" + id + "']")) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "cites";
      hidden.value = id;
      form.appendChild(hidden);
    }
  });
})();
/* Article editor: "Insert into the text" puts an uploaded image's Markdown at the cursor
 * of the article text and refreshes the preview. */
document.addEventListener("click", function (event) {
  "use strict";
  var button = event.target.closest ? event.target.closest("[data-insert-text]") : null;
  if (!button) { return; }
  var area = document.getElementById(button.getAttribute("data-insert-target"));
  if (!area) { return; }
  var text = button.getAttribute("data-insert-text");
  var start = area.selectionStart || 0;
  var end = area.selectionEnd || start;
  var before = area.value.slice(0, start);
  var lead = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
  area.value = before + lead + text + "\n\n" + area.value.slice(end);
  area.focus();
  area.dispatchEvent(new Event("input", { bubbles: true }));
});
