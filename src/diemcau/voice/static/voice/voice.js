// voice: the director's choice for the item on screen, and the print button of the report.
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var radio = ev.target.closest("input[data-previous]");
    if (!radio) { return; }
    // The choice travels with every "put on screen" button.
    document.querySelectorAll(".on-air-form input[name=previous]").forEach(function (h) { h.value = radio.value; });
  });
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-print]")) { window.print(); }
  });
})();
