// The live attendance board: a websocket carries the rendered board; on trouble, poll every 5 s.
// No inline scripts (the CSP forbids them); no library.
(function () {
  "use strict";
  var root = document.getElementById("board-live");
  if (!root) { return; }
  var status = document.getElementById("live-status");
  var text = status ? status.querySelector(".text") : null;
  var socket = null, pollTimer = null, retry = 1000, stopped = false;

  function setState(state) {
    if (!status) { return; }
    status.dataset.state = state;
    if (text && text.dataset[state]) { text.textContent = text.dataset[state]; }
  }

  function show(html) {
    // Keep each table's scroll position when its rows are replaced.
    var scrolls = Array.prototype.map.call(root.querySelectorAll(".table-wrap"), function (el) { return el.scrollTop; });
    root.innerHTML = html;
    Array.prototype.forEach.call(root.querySelectorAll(".table-wrap"), function (el, i) { el.scrollTop = scrolls[i] || 0; });
    root.dispatchEvent(new CustomEvent("board:updated", { bubbles: true }));
  }

  function poll() {
    fetch(root.dataset.poll, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(show).catch(function () { /* try again at the next tick */ });
  }

  function startPolling() {
    if (!pollTimer) { pollTimer = window.setInterval(poll, 5000); }
  }

  function stopPolling() {
    if (pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + root.dataset.ws);
    socket.onopen = function () { retry = 1000; stopPolling(); setState("live"); };
    socket.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "board" && typeof msg.html === "string") { show(msg.html); }
    };
    socket.onclose = function (ev) {
      socket = null;
      if (stopped) { return; }
      if (ev.code === 4401 || ev.code === 4403) { setState("refused"); return; }
      setState("polling");
      startPolling();
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  window.addEventListener("pagehide", function () { stopped = true; if (socket) { socket.close(); } });
  connect();
})();
