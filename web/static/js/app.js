// InLav Flow: small behaviours on top of server-rendered pages (no inline scripts).
// - repeatable groups: add / remove rows, renumbering names and ids
// - conditional fields: show a field while its controller has one of the values
// - focus the error summary after a page load or an htmx swap, so screen readers announce it
(function () {
  "use strict";

  function fieldValues(form, name) {
    var values = [];
    form.querySelectorAll("[name]").forEach(function (el) {
      if (el.name !== name || el.disabled) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      if (el.tagName === "SELECT" && el.multiple) {
        Array.prototype.forEach.call(el.selectedOptions, function (o) { values.push(o.value); });
      } else {
        values.push(el.type === "checkbox" && el.value === "true" ? "true" : el.value);
      }
    });
    return values;
  }

  function applyConditions(root) {
    var form = root.closest ? (root.closest("form") || root) : root;
    (form.querySelectorAll ? form : document).querySelectorAll("[data-show-when]").forEach(function (wrap) {
      var f = wrap.closest("form");
      if (!f) return;
      var wanted = JSON.parse(wrap.getAttribute("data-show-values") || "[]");
      var current = fieldValues(f, wrap.getAttribute("data-show-when"));
      var hit = current.some(function (v) { return wanted.indexOf(v) !== -1; });
      if (wrap.hasAttribute("data-show-negate")) hit = !hit;
      wrap.hidden = !hit;
      wrap.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !hit; });
    });
  }

  function idOf(name) { return "f-" + name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, ""); }

  function renumber(container, group) {
    var rows = container.querySelectorAll(":scope > [data-row]");
    var nameRe = new RegExp("^" + group.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\[(\\d+|__i__)\\]");
    var idPrefix = idOf(group) + "-";
    var idRe = new RegExp("^" + idPrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "(\\d+|__i__)");
    rows.forEach(function (row, index) {
      row.querySelectorAll("*").forEach(function (el) {
        ["name", "data-show-when"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (v && nameRe.test(v)) el.setAttribute(attr, v.replace(nameRe, group + "[" + index + "]"));
        });
        ["id", "for", "aria-describedby", "href"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (!v) return;
          var parts = v.split(" ").map(function (p) {
            var hash = p.charAt(0) === "#";
            var bare = hash ? p.slice(1) : p;
            if (idRe.test(bare)) bare = bare.replace(idRe, idPrefix + index);
            return (hash ? "#" : "") + bare;
          });
          el.setAttribute(attr, parts.join(" "));
        });
      });
      row.querySelectorAll("[data-row-number]").forEach(function (n) { n.textContent = String(index + 1); });
    });
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var group = add.getAttribute("data-add-row");
      var fieldset = add.closest("fieldset");
      var container = fieldset.querySelector('[data-rows="' + CSS.escape(group) + '"]');
      var template = fieldset.querySelector('template[data-row-template="' + CSS.escape(group) + '"]');
      var row = template.content.firstElementChild.cloneNode(true);
      container.appendChild(row);
      renumber(container, group);
      applyConditions(container);
      var first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var rowEl = remove.closest("[data-row]");
      var rows = rowEl.parentElement;
      var name = rows.getAttribute("data-rows");
      var addButton = rows.parentElement.querySelector("[data-add-row]");
      rowEl.remove();
      renumber(rows, name);
      if (addButton) addButton.focus();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.form) applyConditions(event.target.form);
  });

  function focusAlerts(root) {
    var target = (root || document).querySelector("[data-focus-on-load]") ||
      document.querySelector("[data-focus-on-load]");
    if (target) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "start" });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    applyConditions(document);
    focusAlerts(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    applyConditions(document);
    focusAlerts(document);
  });
})();
