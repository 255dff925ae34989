// Proxgate's only script: CSRF header for HTMX, whole pages for navigations, dismissable toasts, busy buttons,
// local times. No inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
    // A refresh the page makes by itself (hx-trigger="every Ns") is not the person's activity: the server
    // does not extend an idle session for it, so a page left open signs out like anyone else.
    var trigger = event.detail.elt.getAttribute("hx-trigger") || "";
    if (!event.detail.triggeringEvent && /(^|,)\s*every\s/.test(trigger)) {
      event.detail.headers["X-Proxgate-Background"] = "1";
    }
    // A GET whose answer replaces the whole body is a navigation: HX-Location (where a request's page sends
    // the browser after asking) works "like following a boosted link", so it asks, like one, for the whole
    // page with its header and navigation rather than the fragment an HTMX request gets otherwise.
    if (event.detail.verb === "get" && event.detail.target === document.body) {
      event.detail.headers["HX-Boosted"] = "true";
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === document.body) { window.scrollTo(0, 0); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) { button.closest(".toast").remove(); }
  });
  // Errors stay at the top until dismissed; other toasts leave by themselves.
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("#toasts .toast:not(.toast-error):not([data-timed])").forEach(function (toast) {
      toast.setAttribute("data-timed", "1");
      setTimeout(function () { toast.remove(); }, 6000);
    });
  });
})();
// Every action (an HTMX POST) shows that it is working and cannot be sent twice: its buttons are disabled and
// marked busy from the request until the answer, whatever the answer is.
(function () {
  "use strict";
  function buttonsOf(elt) {
    if (elt.matches("button, input[type=submit]")) { return [elt]; }
    return Array.prototype.slice.call(elt.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]"));
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail.requestConfig;
    if (!config || config.verb !== "post") { return; }
    var buttons = buttonsOf(event.detail.elt).filter(function (b) { return !b.disabled; });
    buttons.forEach(function (b) { b.disabled = true; b.setAttribute("aria-busy", "true"); b.classList.add("busy"); });
    event.detail.elt.setAttribute("aria-busy", "true");
    event.detail.elt._busyButtons = buttons;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    (elt._busyButtons || []).forEach(function (b) { b.disabled = false; b.removeAttribute("aria-busy"); b.classList.remove("busy"); });
    elt._busyButtons = null;
    elt.removeAttribute("aria-busy");
  });
})();
// Times carry UTC in their datetime attribute: show the reader's local time, with UTC on hover.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function local(root) {
    root.querySelectorAll("time[data-local]:not([data-shown])").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      el.title = el.textContent.trim();
      el.textContent = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) + " " +
        pad(when.getHours()) + ":" + pad(when.getMinutes()) + ":" + pad(when.getSeconds());
      el.setAttribute("data-shown", "1");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { local(document); });
  document.addEventListener("htmx:afterSettle", function (event) { local(event.detail.elt || document); });
})();
// Live tables are replaced every few seconds (hx-swap outerHTML); a wide table scrolled sideways on a phone
// keeps its position instead of jumping back to the first column. Wrappers need an id to be recognised.
(function () {
  "use strict";
  var offsets = {};
  document.addEventListener("htmx:beforeSwap", function (event) {
    offsets = {};
    event.detail.target.querySelectorAll(".table-wrap[id]").forEach(function (wrap) {
      offsets[wrap.id] = wrap.scrollLeft;
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    Object.keys(offsets).forEach(function (id) {
      var wrap = document.getElementById(id);
      if (wrap) { wrap.scrollLeft = offsets[id]; }
    });
    offsets = {};
  });
})();
// One-time keys: a form that changes something carries a key, so a repeated POST (a double click, a retry)
// does not run twice. Once the change was accepted, the form's next use is a new change with a new key.
(function () {
  "use strict";
  function freshKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form") : null;
    if (form && event.detail.successful) {
      form.querySelectorAll("input[data-once]").forEach(function (input) { input.value = freshKey(); });
    }
  });
})();
// The guest page's toolbar opens one form at a time: opening another closes the one open before. When the
// toolbar is drawn again (the guest's state changed, a task ended), the form that was open stays open.
(function () {
  "use strict";
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target, fragment = event.detail.fragment;
    if (!target || target.id !== "guest-actions" || !fragment) { return; }
    var open = target.querySelector(".toolbar > details[open]");
    var again = open && open.id ? fragment.querySelector("#" + CSS.escape(open.id)) : null;
    if (again) { again.setAttribute("open", ""); }
  });
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.matches || !opened.matches(".toolbar > details") || !opened.open) { return; }
    opened.parentElement.querySelectorAll(":scope > details[open]").forEach(function (other) {
      if (other !== opened) { other.open = false; }
    });
  }, true);
})();
// The guest list's "tick every guest on this page" box ticks (or clears) the rows' boxes of the bulk form.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-pick-all]");
    if (!all) { return; }
    document.querySelectorAll('#guests input[name="vmid"][form="bulk-form"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();
// An upload from a storage's page: its progress bar follows what the browser has sent (htmx's xhr:progress),
// then says the file is with Proxgate while it checks the checksum and sends it on to Proxmox.
(function () {
  "use strict";
  function parts(event) {
    var form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("#upload-form") : null;
    return form ? { bar: form.querySelector("#upload-progress"), text: form.querySelector("#upload-percent") } : null;
  }
  document.addEventListener("htmx:xhr:progress", function (event) {
    var found = parts(event);
    if (!found || !event.detail.lengthComputable) { return; }
    var percent = Math.floor((100 * event.detail.loaded) / event.detail.total);
    found.bar.hidden = false;
    found.bar.value = percent;
    found.text.textContent = percent < 100 ? percent + " % sent" : "sent; Proxgate checks it and passes it on to Proxmox…";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var found = parts(event);
    if (found) { found.text.textContent = event.detail.successful ? "" : "not uploaded"; found.bar.hidden = true; }
  });
})();
