// InLav Flow, form editor: keep the keyboard where it was when htmx swaps the editor after a change.
// «Su» / «Giù» keep the focus on the moved field's button (the other one at the ends of the list);
// after adding or removing, the focus goes to the confirmation. Errors: app.js focuses their summary.
// The settings that concern only some kinds (choices, date rule) are shown for those kinds only;
// without JavaScript they are all shown, and the server ignores what the kind does not use.
(function () {
  "use strict";
  var last = null;

  function showForKind(root) {
    root.querySelectorAll("select[data-field-kind]").forEach(function (select) {
      var form = select.form;
      if (!form) return;
      form.querySelectorAll("[data-for-kinds]").forEach(function (part) {
        part.hidden = part.getAttribute("data-for-kinds").split(" ").indexOf(select.value) === -1;
      });
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-field-kind]")) showForKind(document);
  });
  document.addEventListener("DOMContentLoaded", function () { showForKind(document); });

  document.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    last = active && active.getAttribute ? active.getAttribute("data-focus-key") : null;
  });

  document.addEventListener("htmx:afterSwap", function () {
    var editor = document.getElementById("form-editor");
    var key = last;
    last = null;
    if (editor) showForKind(editor);
    if (!editor || editor.querySelector("[data-focus-on-load]")) return;
    var target = null;
    if (key) {
      target = editor.querySelector('[data-focus-key="' + CSS.escape(key) + '"]:not([disabled])');
      if (!target) {
        var field = key.slice(key.indexOf(":") + 1);
        target = editor.querySelector('[data-field="' + CSS.escape(field) + '"] [data-focus-key]:not([disabled])');
      }
    }
    if (!target) {
      target = editor.querySelector("[role=status]");
      if (target) target.setAttribute("tabindex", "-1");
    }
    if (target) target.focus();
  });
})();
