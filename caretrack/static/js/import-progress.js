// Polls an import job and moves the progress bar; reloads the page when the job has finished.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var bar = document.getElementById("import-progress-bar");
  var text = document.getElementById("import-progress-text");
  var template = text.textContent.replace(/\d+/, "{n}");

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.status === "done" || job.status === "failed") { window.location.reload(); return; }
        bar.style.width = job.percent + "%";
        bar.setAttribute("aria-valuenow", job.percent);
        text.textContent = template.replace("{n}", job.processed);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
