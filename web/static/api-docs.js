// The API reference page: Swagger UI over /api/v1/openapi.json. A signed-in user's
// requests carry the page's CSRF token; a POST whose Idempotency-Key is left as the
// document's example (new-uuid) or empty gets a new one.
(function () {
  var root = document.getElementById("swagger-ui");
  var csrf = root.getAttribute("data-csrf");
  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: false,
    requestInterceptor: function (request) {
      if (csrf) { request.headers["X-CSRFToken"] = csrf; }
      var key = request.headers["Idempotency-Key"];
      if (request.method === "POST" && (!key || key === "new-uuid")) {
        request.headers["Idempotency-Key"] = newKey();
      }
      return request;
    }
  });
})();
