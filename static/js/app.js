// Proxgate's only script: CSRF header for HTMX, dismissable toasts. No inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
    // A refresh the page makes by itself (hx-trigger="every Ns") is not the person's activity: the server
    // does not extend an idle session for it, so a page left open signs out like anyone else.
    var trigger = event.detail.elt.getAttribute("hx-trigger") || "";
    if (!event.detail.triggeringEvent && /^\s*every\s/.test(trigger)) {
      event.detail.headers["X-Proxgate-Background"] = "1";
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) { button.closest(".toast").remove(); }
  });
  // Toasts leave by themselves after a while, errors stay longer.
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("#toasts .toast:not([data-timed])").forEach(function (toast) {
      toast.setAttribute("data-timed", "1");
      var ms = toast.classList.contains("toast-error") ? 15000 : 6000;
      setTimeout(function () { toast.remove(); }, ms);
    });
  });
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
