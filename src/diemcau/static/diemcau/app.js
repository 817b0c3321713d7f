// diemcau: the little plain JavaScript every page needs. No inline scripts (the CSP forbids them).
// Words come from Django's JavaScript catalogue (/jsi18n/, loaded before this file by base.html:
// gettext, ngettext, interpolate, get_format). Numbers and times go through window.Diemcau below:
// Intl in the page's language (<html lang>) and the zone the server gives it (<html data-time-zone>,
// settings.TIME_ZONE), never a zone or a separator written into a script.
(function () {
  "use strict";
  var html = document.documentElement;
  var lang = html.lang || "vi";
  var zone = html.dataset.timeZone || undefined;
  var numbers = {};
  window.Diemcau = {
    timeZone: zone,
    // 1234.5 -> "1.234,5" in Vietnamese, "1,234.5" in English (formats/vi, formats/en).
    number: function (value, digits) {
      var d = digits || 0;
      if (!numbers[d]) {
        numbers[d] = new Intl.NumberFormat(lang, {minimumFractionDigits: d, maximumFractionDigits: d});
      }
      return numbers[d].format(Number(value));
    },
    // A moment as the hall's clock shows it: 24-hour time of day in the server's zone.
    time: function (value) {
      return new Date(value).toLocaleTimeString(lang, {timeZone: zone, hour12: false});
    },
  };

  // A clock on the page ([data-clock]): the hall's time in the server's zone (Hà Nội), whatever zone
  // the browser is set to; a director abroad or a PC with a wrong zone reads the same hour as the hall.
  function tick() {
    var clocks = document.querySelectorAll("[data-clock]");
    for (var i = 0; i < clocks.length; i++) { clocks[i].textContent = window.Diemcau.time(Date.now()); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-clock]")) { tick(); setInterval(tick, 1000); }
  });

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
