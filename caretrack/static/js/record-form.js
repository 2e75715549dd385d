// The care-record form: the work-study fields (post, hours, pay) only for 勤工助学, and the follow-ups the
// record completes ticked for the kind chosen. The server checks both again; without this script every field shows.
(function () {
  "use strict";

  function setUp(form) {
    var kind = form.querySelector("select[name=kind]");
    if (!kind) {
      return;
    }
    var workStudy = form.querySelector("[data-work-study]");
    var closes = form.querySelectorAll("input[data-record-kinds]");

    function showWorkStudy() {
      if (!workStudy) {
        return;
      }
      var shown = kind.value === "work_study";
      workStudy.hidden = !shown;
      // Hidden fields are not sent, so a value typed before switching kinds cannot make the record invalid.
      workStudy.querySelectorAll("input").forEach(function (input) { input.disabled = !shown; });
    }

    function tickFollowUps() {
      closes.forEach(function (box) {
        box.checked = box.dataset.recordKinds.split(" ").indexOf(kind.value) !== -1;
      });
    }

    showWorkStudy();
    kind.addEventListener("change", function () {
      showWorkStudy();
      tickFollowUps();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-record-form]").forEach(setUp);
  });
})();
