// Starts the vendored Swagger UI on the app's own OpenAPI document. A file, not inline: the CSP allows no inline script.
// The token given to Authorize is kept across reloads (in this browser's local storage, as Swagger UI does).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    window.SwaggerUIBundle({
      url: root.dataset.spec, dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null, persistAuthorization: true
    });
  });
})();
