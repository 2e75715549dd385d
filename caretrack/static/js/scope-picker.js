// The grant forms' lists (templates/accounts/_grant_fields.html): the scope types follow the role, and the
// last list shows the chosen unit's colleges, classes, clubs or caseloads, fetched from /users/scope-options.
(function () {
  "use strict";

  function option(value, label) {
    var element = document.createElement("option");
    element.value = value;
    element.textContent = label;
    return element;
  }

  function fill(select, options) {
    select.replaceChildren(option("", options.length ? select.dataset.placeholder : select.dataset.empty));
    var group = null;
    options.forEach(function (item) {
      var parent = select;
      if (item.group) {
        if (!group || group.label !== item.group) {
          group = document.createElement("optgroup");
          group.label = item.group;
          select.appendChild(group);
        }
        parent = group;
      }
      parent.appendChild(option(String(item.id), item.label));
    });
  }

  function setUp(picker) {
    var role = picker.querySelector("select[name=role]");
    var type = picker.querySelector("select[name=scope_type]");
    var unit = picker.querySelector("select[name=unit]");
    var target = picker.querySelector("[data-scope-target]");
    var scope = target.querySelector("select");
    var roleScopes = JSON.parse(picker.dataset.roleScopes);

    function followRole() {
      var allowed = roleScopes[role.value] || [];
      Array.prototype.forEach.call(type.options, function (choice) {
        choice.hidden = allowed.indexOf(choice.value) < 0;
      });
      if (allowed.indexOf(type.value) < 0 && allowed.length) { type.value = allowed[0]; }
    }

    function reload() {
      target.hidden = type.value === "unit";
      if (target.hidden || !unit.value) { fill(scope, []); return; }
      var url = picker.dataset.optionsUrl + "?unit=" + encodeURIComponent(unit.value) +
        "&type=" + encodeURIComponent(type.value);
      scope.disabled = true;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {options: []}; })
        .then(function (data) { fill(scope, data.options); })
        .finally(function () { scope.disabled = false; });
    }

    role.addEventListener("change", function () { var before = type.value; followRole(); if (type.value !== before) { reload(); } });
    type.addEventListener("change", reload);
    unit.addEventListener("change", reload);
    var typeBefore = type.value;
    followRole();
    if (type.value !== typeBefore) { reload(); } else { target.hidden = type.value === "unit"; }
  }

  document.querySelectorAll("[data-scope-picker]").forEach(setUp);
})();
