// The badges page's Print button (no inline handler: the content security policy forbids them).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var button = document.getElementById("print-badges");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
});
