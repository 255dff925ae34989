// Proxgate's only script: CSRF header for HTMX, dismissable toasts. No inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
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
