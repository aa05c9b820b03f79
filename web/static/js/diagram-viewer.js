// InLav Flow studio: draws a published version's diagram, read-only, with bpmn-js.
// The page holds <div data-diagram-url="…"> with a canvas and a status line; the texts
// shown on success or failure come from data attributes, so they follow the page's language.
(function () {
  "use strict";

  function show(box, text, failed) {
    var status = box.querySelector("[data-diagram-status]");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("app-diagram-error", !!failed);
  }

  function draw(box) {
    var canvas = box.querySelector("[data-diagram-canvas]");
    if (!canvas || typeof window.BpmnJS !== "function") {
      box.setAttribute("data-diagram-ready", "error");
      show(box, box.getAttribute("data-text-error"), true);
      return;
    }
    var viewer = new window.BpmnJS({ container: canvas });
    fetch(box.getAttribute("data-diagram-url"), { credentials: "same-origin", headers: { Accept: "text/plain" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport", "auto");
        box.setAttribute("data-diagram-ready", "true");
        show(box, box.getAttribute("data-text-ready"), false);
      })
      .catch(function () {
        box.setAttribute("data-diagram-ready", "error");
        show(box, box.getAttribute("data-text-error"), true);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-diagram-url]").forEach(draw);
  });
})();
