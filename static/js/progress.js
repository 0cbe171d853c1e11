// Polls a background job's status every second and updates the progress bar and counts.
// Served as a file (the Content-Security-Policy allows no inline script).
(function () {
  var box = document.getElementById("run-progress");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  function update() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        document.getElementById("run-bar").value = data.percent;
        box.querySelectorAll("[data-field]").forEach(function (el) {
          el.textContent = data[el.getAttribute("data-field")];
        });
        // The worker stopped, or a stopped job carries on again: reload to show what to do.
        if (String(data.stalled) !== box.getAttribute("data-stalled") ||
            (box.hasAttribute("data-resuming") && data.status !== "queued")) {
          window.location.reload();
        } else if (data.status === "queued" || data.status === "running") {
          setTimeout(update, 1000);
        } else if (box.hasAttribute("data-done-reload") && box.getAttribute("data-status") !== data.status) {
          // Finished while the page was open: reload to show the download link.
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(update, 3000); });
  }
  update();
})();
