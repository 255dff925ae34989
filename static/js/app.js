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
