// The API documentation, loaded from a file rather than inline so the page's Content-Security-Policy allows no
// inline script. Requests tried from here carry the session's CSRF token, which the server asks of a signed-in
// browser's form and upload requests.
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content;
window.ui = SwaggerUIBundle({
  url: "/schema/openapi.json",
  dom_id: "#swagger-container",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  requestInterceptor: (request) => {
    if (csrfToken) request.headers["X-CSRF-Token"] = csrfToken;
    return request;
  },
});
