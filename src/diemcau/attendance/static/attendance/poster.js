// The poster's Print button (no inline scripts: the CSP forbids them).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var b = document.getElementById("print-poster");
  if (b) { b.addEventListener("click", function () { window.print(); }); }
});
