// Swagger UI for /api/docs, from the vendored swagger-ui-bundle package (no CDN): this file is
// the only script the page runs besides the bundle, so the page keeps the app's strict CSP.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
