// InLav Flow studio: the diagram editor of a draft (bpmn-js modeler, labels in Italian).
// The page holds <div data-editor data-xml data-revision data-csrf data-save-url data-check-url>;
// «Salva bozza» posts the diagram, «Verifica» saves changes first and then asks the server to
// validate; each problem of the list selects its element, and problem elements are marked.
// Answers are HTML fragments from the server (errors too: the request says HX-Request).
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

  function setup(box) {
    var canvasBox = box.querySelector("[data-diagram-canvas]");
    var status = box.querySelector("[data-diagram-status]");
    var notice = document.querySelector("[data-editor-notice]");
    var list = document.querySelector("[data-editor-problems]");
    var flash = document.getElementById("flash") || notice;
    var csrf = box.getAttribute("data-csrf");
    var revision = box.getAttribute("data-revision");
    var dirty = false;
    var marked = [];

    function say(text, failed) {
      status.textContent = text;
      status.classList.toggle("app-diagram-error", !!failed);
    }

    if (!canvasBox || typeof window.BpmnJS !== "function") {
      box.setAttribute("data-editor-ready", "error");
      say(box.getAttribute("data-text-error"), true);
      return;
    }
    var modules = window.InlavBpmnItalian ? [window.InlavBpmnItalian] : [];
    var modeler = new window.BpmnJS({ container: canvasBox, additionalModules: modules });
    window.inlavModeler = modeler; // for the browser test and the console
    modeler.on("commandStack.changed", function () {
      dirty = true;
      say(box.getAttribute("data-text-unsaved"), false);
    });

    function showError(html) {
      if (flash) flash.innerHTML = html;
    }

    function save(always) {
      if (!dirty && !always) return Promise.resolve(true);
      say(box.getAttribute("data-text-saving"), false);
      return modeler.saveXML({ format: true }).then(function (result) {
        return post(box.getAttribute("data-save-url"), csrf, { xml: result.xml, revision: revision });
      }).then(function (answer) {
        if (!answer.ok) {
          showError(answer.html);
          say(box.getAttribute("data-text-failed"), true);
          return false;
        }
        notice.innerHTML = answer.html;
        var saved = notice.querySelector("[data-revision]");
        if (saved) revision = saved.getAttribute("data-revision");
        if (flash !== notice) flash.innerHTML = "";
        dirty = false;
        say(box.getAttribute("data-text-ready"), false);
        return true;
      }).catch(function () {
        say(box.getAttribute("data-text-failed"), true);
        return false;
      });
    }

    function select(id) {
      var element = modeler.get("elementRegistry").get(id);
      if (!element) return;
      modeler.get("canvas").scrollToElement(element);
      modeler.get("selection").select(element);
    }

    function mark(ids) {
      var canvas = modeler.get("canvas");
      var registry = modeler.get("elementRegistry");
      marked.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, "app-problem"); });
      marked = ids.filter(function (id) { return !!registry.get(id); });
      marked.forEach(function (id) { canvas.addMarker(id, "app-problem"); });
    }

    function check() {
      save().then(function (saved) {
        if (!saved) return null;
        say(box.getAttribute("data-text-checking"), false);
        return post(box.getAttribute("data-check-url"), csrf, {});
      }).then(function (answer) {
        if (!answer) return;
        if (!answer.ok) { showError(answer.html); return; }
        list.innerHTML = answer.html;
        var ids = [];
        list.querySelectorAll("[data-select]").forEach(function (button) {
          ids.push(button.getAttribute("data-select"));
          button.addEventListener("click", function () { select(button.getAttribute("data-select")); });
        });
        mark(ids);
        list.setAttribute("data-checked", "true");
        say(box.getAttribute("data-text-ready"), false);
      }).catch(function () {
        say(box.getAttribute("data-text-failed"), true);
      });
    }

    modeler.importXML(box.getAttribute("data-xml")).then(function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      dirty = false;
      box.setAttribute("data-editor-ready", "true");
      say(box.getAttribute("data-text-ready"), false);
    }).catch(function () {
      box.setAttribute("data-editor-ready", "error");
      say(box.getAttribute("data-text-error"), true);
    });
    box.querySelector("[data-editor-save]").addEventListener("click", function () { save(true); });
    box.querySelector("[data-editor-check]").addEventListener("click", check);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-editor]").forEach(setup);
  });
})();
