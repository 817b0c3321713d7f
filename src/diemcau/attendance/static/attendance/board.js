// The attendance board's connection light: htmx's ws extension carries the rendered board and
// reconnects by itself; this only says so. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  var socket = document.getElementById("board-socket");
  var status = document.getElementById("live-status");
  if (!socket || !status) { return; }
  var text = status.querySelector(".text");

  function setState(state) {
    status.dataset.state = state;
    if (text && text.dataset[state]) { text.textContent = text.dataset[state]; }
  }

  socket.addEventListener("htmx:wsOpen", function () { setState("live"); });
  socket.addEventListener("htmx:wsClose", function (ev) {
    var code = ev.detail && ev.detail.event ? ev.detail.event.code : 0;
    setState(code === 4401 || code === 4403 ? "refused" : "polling");
  });
  socket.addEventListener("htmx:wsAfterMessage", function () {
    socket.dispatchEvent(new CustomEvent("board:updated", { bubbles: true }));
  });
})();
