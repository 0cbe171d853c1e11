// The running points total on an assessment section page: the other sections' saved points
// plus the answers chosen on this page, updated as answers are picked.
(function () {
  var total = document.getElementById("running-total");
  if (!total || total.getAttribute("data-other-sections") === "") return;
  var others = parseFloat(total.getAttribute("data-other-sections"));
  function update() {
    var sum = others;
    document.querySelectorAll("input[type=radio][data-points]:checked").forEach(function (el) {
      sum += parseFloat(el.getAttribute("data-points"));
    });
    // Points have at most two decimals; show them as people write them (4, 4.5, 4.25).
    total.textContent = String(Math.round(sum * 100) / 100);
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[type=radio][data-points]")) update();
  });
})();
