// InLav Flow studio: the diagram editor of a draft (bpmn-js modeler, labels in Italian) with its
// properties panel (window.InlavStudio.createModeler, bundled from web/frontend/editor.js).
// The page holds <div data-editor data-xml data-revision data-base data-csrf data-save-url data-check-url
// data-choices-url data-timer-url data-preview-url data-forms-url>; the panel's choices (roles,
// forms, processes, decisions, messages) are asked of the server before the modeler starts.
// «Salva bozza» posts the diagram, «Verifica» saves changes first and then asks the server to
// validate; each problem of the list selects its element, and problem elements are marked.
// Answers are HTML fragments from the server (errors too: the request says HX-Request).
(function () {
  "use strict";

  var NO_CHOICES = { roles: [], forms: [], processes: [], decisions: [], messages: [] };

  var post = window.InlavStudioPage.post; // web/static/js/studio-page.js

  function loadChoices(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  }

  function setup(box) {
    var canvasBox = box.querySelector("[data-diagram-canvas]");
    var panelBox = box.querySelector("[data-editor-panel]");
    var status = box.querySelector("[data-diagram-status]");
    var notice = document.querySelector("[data-editor-notice]");
    var list = document.querySelector("[data-editor-problems]");
    var flash = document.getElementById("flash") || notice;
    var csrf = box.getAttribute("data-csrf");
    var marked = [];
    var modeler = null;

    function say(text, failed) {
      status.textContent = text;
      status.classList.toggle("app-diagram-error", !!failed);
    }

    function showError(html) {
      if (flash) flash.innerHTML = html;
    }

    var studio = window.InlavStudio;
    if (!canvasBox || !panelBox || !studio || typeof studio.createModeler !== "function") {
      box.setAttribute("data-editor-ready", "error");
      say(box.getAttribute("data-text-error"), true);
      return;
    }

    var draft = window.InlavStudioPage.saver(box, say, function () {
      return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
    });
    var save = draft.save;

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

    function start(choices) {
      var config = {
        choices: choices || NO_CHOICES,
        csrf: csrf,
        urls: {
          timer: box.getAttribute("data-timer-url"),
          preview: box.getAttribute("data-preview-url"),
          forms: box.getAttribute("data-forms-url"),
        },
        text: { offline: box.getAttribute("data-text-offline") },
      };
      var modules = window.InlavBpmnItalian ? [window.InlavBpmnItalian] : [];
      modeler = studio.createModeler(canvasBox, panelBox, modules, config);
      window.inlavModeler = modeler; // for the browser test and the console
      modeler.on("commandStack.changed", draft.changed);
      if (!choices) {
        var missing = document.createElement("p");
        missing.className = "app-diagram-error";
        missing.textContent = box.getAttribute("data-text-no-choices");
        notice.appendChild(missing);
      }
      modeler.importXML(box.getAttribute("data-xml")).then(function () {
        modeler.get("canvas").zoom("fit-viewport", "auto");
        draft.clean();
        box.setAttribute("data-editor-ready", "true");
        say(box.getAttribute("data-text-ready"), false);
      }).catch(function () {
        box.setAttribute("data-editor-ready", "error");
        say(box.getAttribute("data-text-error"), true);
      });
      box.querySelector("[data-editor-save]").addEventListener("click", function () { save(true); });
      box.querySelector("[data-editor-check]").addEventListener("click", check);
    }

    loadChoices(box.getAttribute("data-choices-url")).then(start);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-editor]").forEach(setup);
  });
})();
