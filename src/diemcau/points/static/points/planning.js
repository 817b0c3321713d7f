// Planning pages: the print button of the official list (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-print]")) { window.print(); }
  });
})();
