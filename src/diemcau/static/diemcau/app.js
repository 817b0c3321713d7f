// diemcau: the little plain JavaScript every page needs. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var toggle = ev.target.closest(".menu-toggle");
    if (toggle) {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    var branch = ev.target.closest(".tree .toggle:not(.leaf)");
    if (branch) {
      var kids = branch.parentElement.querySelector(":scope > ul.tree");
      var expanded = branch.getAttribute("aria-expanded") === "true";
      branch.setAttribute("aria-expanded", expanded ? "false" : "true");
      if (kids && branch.dataset.loaded) { kids.hidden = expanded; }
      branch.dataset.loaded = "1";
    }
  });
})();
