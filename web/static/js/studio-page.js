// InLav Flow studio: what the draft's editor pages (diagram, decision tables) share.
// post() sends a form with the session's CSRF token and HX-Request, so the server answers with
// the app's HTML fragments (errors too), and resolves to {ok, html}.
(function () {
  "use strict";

  function post(url, csrf, fields) {
    var body = new URLSearchParams(fields || {});
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
    }).then(function (response) {
      return response.text().then(function (text) { return { ok: response.ok, html: text }; });
    });
  }

  window.InlavStudioPage = { post: post };
})();
