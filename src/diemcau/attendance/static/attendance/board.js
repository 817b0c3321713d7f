// The attendance board: htmx's ws extension keeps the socket (and reconnects); this applies its
// messages. A snapshot replaces the board; a delta replaces, inserts or removes rows by id, but only
// if it builds on the version shown; otherwise the board asks for a snapshot. No inline scripts (CSP).
(function () {
  "use strict";
  var socket = document.getElementById("board-socket");
  var live = document.getElementById("board-live");
  var status = document.getElementById("live-status");
  if (!socket || !live) { return; }
  var text = status && status.querySelector(".text");
  var version = null;

  function setState(state) {
    if (!status) { return; }
    status.dataset.state = state;
    if (text && text.dataset[state]) { text.textContent = text.dataset[state]; }
  }

  function element(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  // A row new to the board goes into its table body (data-in) before the first row that sorts after it.
  function put(id, html) {
    var row = element(html);
    var old = document.getElementById(id);
    if (old) { old.replaceWith(row); return; }
    var body = row && row.dataset.in ? document.getElementById(row.dataset.in) : null;
    if (!body) { return; } // its section is not on the board: nothing to show
    var after = null;
    for (var i = 0; i < body.children.length; i++) {
      if (body.children[i].dataset.order > row.dataset.order) { after = body.children[i]; break; }
    }
    body.insertBefore(row, after);
  }

  function apply(message) {
    if (message.snapshot) {
      live.innerHTML = message.snapshot.html;
    } else if (version !== null && message.base === version) {
      Object.keys(message.rows_changed).forEach(function (id) { put(id, message.rows_changed[id]); });
      message.rows_removed.forEach(function (id) {
        var gone = document.getElementById(id);
        if (gone) { gone.remove(); }
      });
    } else {
      return false;
    }
    version = message.version;
    live.dataset.version = version;
    return true;
  }

  socket.addEventListener("htmx:wsOpen", function () { version = null; setState("live"); });
  socket.addEventListener("htmx:wsClose", function (ev) {
    var code = ev.detail && ev.detail.event ? ev.detail.event.code : 0;
    setState(code === 4401 || code === 4403 ? "refused" : "polling");
  });
  socket.addEventListener("htmx:wsBeforeMessage", function (ev) {
    ev.preventDefault(); // JSON, not HTML for htmx to swap
    var message = JSON.parse(ev.detail.message);
    if (message.type !== "board") { return; }
    if (apply(message)) {
      socket.dispatchEvent(new CustomEvent("board:updated", { bubbles: true, detail: message }));
    } else if (version !== -1) {
      version = -1; // missed a message: one request, then wait for the snapshot
      ev.detail.socketWrapper.send(JSON.stringify({ type: "snapshot" }));
    }
  });
})();
