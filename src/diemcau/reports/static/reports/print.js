// The printable report's "Print" button (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-print]")) { window.print(); }
  });
})();
