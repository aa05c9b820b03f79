// InLav Flow studio: the decision-table editor of a draft's DMN file (dmn-js modeler, Italian
// labels). The page holds <div data-decision-editor data-xml data-revision data-base data-csrf data-save-url
// data-check-url>; «Salva bozza» posts the file, «Verifica» saves changes first and then asks the
// server to validate; each problem of the list opens its decision's table and selects its rule or
// cell, and the cells with problems are marked. Answers are HTML fragments from the server.
(function () {
  "use strict";

  var post = window.InlavStudioPage.post; // web/static/js/studio-page.js

  function cssId(id) {
    return window.CSS && window.CSS.escape ? window.CSS.escape(id) : id.replace(/["\\]/g, "\\$&");
  }

  function setup(box) {
    var canvasBox = box.querySelector("[data-diagram-canvas]");
    var status = box.querySelector("[data-diagram-status]");
    var chooser = box.querySelector("[data-decision-views]");
    var notice = document.querySelector("[data-editor-notice]");
    var list = document.querySelector("[data-editor-problems]");
    var flash = document.getElementById("flash") || notice;
    var csrf = box.getAttribute("data-csrf");
    var importing = true;
    var problems = []; // [{decision, target}]
    var watched = [];

    function say(text, failed) {
      status.textContent = text;
      status.classList.toggle("app-diagram-error", !!failed);
    }

    var studio = window.InlavStudio;
    if (!canvasBox || !studio || typeof studio.createDecisionModeler !== "function") {
      box.setAttribute("data-editor-ready", "error");
      say(box.getAttribute("data-text-error"), true);
      return;
    }
    var modeler = studio.createDecisionModeler(canvasBox);
    window.inlavDecisions = modeler; // for the browser test and the console

    var draft = window.InlavStudioPage.saver(box, say, function () {
      return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
    });
    var save = draft.save;

    function changed() {
      if (!importing) draft.changed();
    }

    function tables() {
      return modeler.getViews().filter(function (view) { return view.type === "decisionTable"; });
    }

    function activeDecision() {
      var view = modeler.getActiveView();
      return view && view.type === "decisionTable" ? view.element.id : null;
    }

    // Every view has its own command stack: watch each one the first time it is shown, and mark
    // the problems again after each drawing (the table redraws its cells on every change).
    modeler.on("views.changed", function () {
      var viewer = modeler.getActiveViewer();
      if (viewer && watched.indexOf(viewer) < 0) {
        watched.push(viewer);
        viewer.get("eventBus").on("commandStack.changed", changed);
        viewer.get("eventBus").on("elements.changed", function () { window.setTimeout(mark, 0); });
      }
      if (chooser && activeDecision()) chooser.value = activeDecision();
      window.setTimeout(mark, 0);
    });

    function fillChooser() {
      var views = tables();
      chooser.innerHTML = "";
      views.forEach(function (view) {
        var option = document.createElement("option");
        option.value = view.element.id;
        option.textContent = view.element.name || view.element.id;
        chooser.appendChild(option);
      });
      chooser.hidden = views.length < 2;
    }

    function openDecision(id) {
      if (activeDecision() === id) return Promise.resolve();
      var view = tables().filter(function (v) { return v.element.id === id; })[0];
      return view ? modeler.open(view) : Promise.resolve();
    }

    function showError(html) {
      if (flash) flash.innerHTML = html;
    }


    function nodesOf(id) {
      var q = cssId(id);
      return canvasBox.querySelectorAll(
        '[data-element-id="' + q + '"], [data-row-id="' + q + '"], [data-col-id="' + q + '"]'
      );
    }

    function mark() {
      canvasBox.querySelectorAll(".app-problem").forEach(function (node) { node.classList.remove("app-problem"); });
      var current = activeDecision();
      problems.forEach(function (p) {
        if (p.decision !== current || !p.target) return;
        nodesOf(p.target).forEach(function (node) { node.classList.add("app-problem"); });
      });
    }

    function select(decision, target) {
      openDecision(decision).then(function () {
        var viewer = modeler.getActiveViewer();
        var nodes = target ? nodesOf(target) : [];
        if (nodes.length) nodes[0].scrollIntoView({ block: "center", inline: "nearest" });
        if (target && viewer && viewer.get("elementRegistry").get(target)) {
          viewer.get("selection").select(target);
        }
        box.setAttribute("data-selected", target || decision);
        mark();
      });
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
        problems = [];
        list.querySelectorAll("[data-decision]").forEach(function (button) {
          var decision = button.getAttribute("data-decision");
          var target = button.getAttribute("data-select");
          problems.push({ decision: decision, target: target });
          button.addEventListener("click", function () { select(decision, target); });
        });
        mark();
        list.setAttribute("data-checked", "true");
        say(box.getAttribute("data-text-ready"), false);
      }).catch(function () {
        say(box.getAttribute("data-text-failed"), true);
      });
    }

    modeler.importXML(box.getAttribute("data-xml")).then(function () {
      fillChooser();
      var first = tables()[0];
      return first && !activeDecision() ? modeler.open(first) : null;
    }).then(function () {
      importing = false;
      draft.clean();
      box.setAttribute("data-editor-ready", "true");
      say(box.getAttribute("data-text-ready"), false);
    }).catch(function () {
      importing = false;
      box.setAttribute("data-editor-ready", "error");
      say(box.getAttribute("data-text-error"), true);
    });
    chooser.addEventListener("change", function () { openDecision(chooser.value); });
    box.querySelector("[data-editor-save]").addEventListener("click", function () { save(true); });
    box.querySelector("[data-editor-check]").addEventListener("click", check);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-decision-editor]").forEach(setup);
  });
})();
