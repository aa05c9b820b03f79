// InLav Flow studio: what the draft's editor pages (diagram, decision tables) share.
// post() sends a form with the session's CSRF token and HX-Request, so the server answers with
// the app's HTML fragments (errors too), and resolves to {ok, html}. saver() saves the page's
// file into the draft: one save at a time (another waits, since it needs the revision the first
// one gets back), and an edit made while a save is in flight stays unsaved.
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

  // box: the editor's element (data-csrf, data-revision, data-base, data-save-url, data-text-*);
  // say(text, failed) shows the status; serialize() resolves to the file's text.
  function saver(box, say, serialize) {
    var notice = document.querySelector("[data-editor-notice]");
    var flash = document.getElementById("flash") || notice;
    var revision = box.getAttribute("data-revision");
    var changes = 0; // edits so far
    var saved = 0; // edits the server has
    var pending = null; // the save in flight

    function send() {
      var sent = changes;
      say(box.getAttribute("data-text-saving"), false);
      return serialize().then(function (text) {
        var fields = { xml: text, revision: revision, base: box.getAttribute("data-base") || "" };
        return post(box.getAttribute("data-save-url"), box.getAttribute("data-csrf"), fields);
      }).then(function (answer) {
        if (!answer.ok) {
          if (flash) flash.innerHTML = answer.html;
          say(box.getAttribute("data-text-failed"), true);
          return false;
        }
        notice.innerHTML = answer.html;
        var stored = notice.querySelector("[data-revision]");
        if (stored) revision = stored.getAttribute("data-revision");
        // The discard form discards what this page saved, not a colleague's later save.
        document.querySelectorAll("[data-discard-revision]").forEach(function (input) { input.value = revision; });
        if (flash !== notice) flash.innerHTML = "";
        saved = sent;
        box.setAttribute("data-saved-revision", revision);
        say(box.getAttribute(saved === changes ? "data-text-ready" : "data-text-unsaved"), false);
        return true;
      }).catch(function () {
        say(box.getAttribute("data-text-failed"), true);
        return false;
      });
    }

    function save(always) {
      if (pending) return pending.then(function () { return save(always); });
      if (saved === changes && !always) return Promise.resolve(true);
      pending = send().then(function (ok) { pending = null; return ok; });
      return pending;
    }

    return {
      save: save,
      changed: function () { changes += 1; say(box.getAttribute("data-text-unsaved"), false); },
      clean: function () { saved = changes; },
    };
  }

  window.InlavStudioPage = { post: post, saver: saver };
})();
