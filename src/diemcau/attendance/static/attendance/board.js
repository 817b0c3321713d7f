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

  // The arrivals chart comes as numbers (data-counts: arrivals per step of minutes from data-start,
  // minutes after midnight); it is drawn here into its empty <svg>, on the layout the server used to draw.
  var SVG = "http://www.w3.org/2000/svg";
  var W = 720, H = 220, LEFT = 44, RIGHT = 48, TOP = 12, BOTTOM = 30;

  function svgNode(parent, name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    parent.appendChild(node);
    return node;
  }

  function clock(minutes) {
    var m = ((minutes % 1440) + 1440) % 1440;
    return String(Math.floor(m / 60)).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");
  }

  function drawChart(figure) {
    var svg = figure.querySelector("svg");
    if (!svg || svg.childElementCount) { return; }
    var counts = figure.dataset.counts.split(" ").map(Number);
    var start = Number(figure.dataset.start), step = Number(figure.dataset.step);
    var scale = Number(figure.dataset.scale) || 1, reference = Number(figure.dataset.reference) || 1;
    var plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM, barW = plotW / counts.length;
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var y = (TOP + plotH * (1 - f)).toFixed(1);
      svgNode(svg, "line", { "class": "grid-line", x1: LEFT, x2: W - RIGHT, y1: y, y2: y });
      svgNode(svg, "text", { "class": "axis", x: LEFT - 6, y: y, dy: 4, "text-anchor": "end" }, Math.round(scale * f));
      svgNode(svg, "text", { "class": "axis cum", x: W - RIGHT + 6, y: y, dy: 4 }, Math.round(100 * f) + "%");
    });
    var cumulative = 0, points = [LEFT.toFixed(1) + "," + (TOP + plotH).toFixed(1)];
    counts.forEach(function (n, k) {
      var x = LEFT + k * barW, h = plotH * n / scale;
      if (n) {
        var bar = svgNode(svg, "rect", { "class": "arr-bar", x: (x + barW * 0.12).toFixed(2), y: (TOP + plotH - h).toFixed(2),
          width: Math.max(barW * 0.76, 0.8).toFixed(2), height: h.toFixed(2) });
        svgNode(bar, "title", {}, clock(start + k * step) + ": " + n);
      }
      cumulative += n;
      points.push((x + barW).toFixed(1) + "," + (TOP + plotH * (1 - Math.min(cumulative / reference, 1))).toFixed(1));
    });
    svgNode(svg, "polyline", { "class": "cum-line", points: points.join(" "), fill: "none" });
    var every = Math.max(1, Math.round(counts.length / 6));
    for (var k = 0; k < counts.length; k += every) {
      svgNode(svg, "text", { "class": "axis", x: (LEFT + k * barW).toFixed(1), y: TOP + plotH + 18, "text-anchor": "middle" },
        clock(start + k * step));
    }
    svgNode(svg, "line", { "class": "axis-line", x1: LEFT, x2: W - RIGHT, y1: TOP + plotH, y2: TOP + plotH });
  }

  function drawCharts() {
    live.querySelectorAll("figure.board-chart[data-counts]").forEach(drawChart);
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

  // A row whose figures alone changed (a unit, a point, the totals, the chart): its elements marked
  // data-f get the new figures; the chart gets its numbers and is drawn again (drawCharts, after apply).
  function patch(id, figures) {
    var row = document.getElementById(id);
    if (!row) { return; }
    Object.keys(figures).forEach(function (name) {
      var cell = row.querySelector('[data-f="' + name + '"]');
      if (!cell) { return; }
      var value = figures[name];
      if (name === "bar") {
        cell.style.width = value[0] + "%";
        cell.className = "fill" + (value[1] ? " " + value[1] : "");
      } else if (name === "totalbar") {
        cell.style.width = value[0] + "%";
        cell.className = value[1];
        cell.parentElement.setAttribute("aria-valuenow", Math.round(value[0]));
      } else if (name === "chart") {
        ["counts", "start", "scale", "reference"].forEach(function (k) { cell.dataset[k] = value[k]; });
        var svg = cell.querySelector("svg");
        if (svg) { svg.setAttribute("aria-label", value.label); svg.replaceChildren(); }
        var sum = cell.querySelector('[data-f="chart-sum"]');
        if (sum) { sum.textContent = value.sum; }
      } else {
        cell.textContent = value;
      }
    });
  }

  function apply(message) {
    if (message.snapshot) {
      live.innerHTML = message.snapshot.html;
    } else if (version !== null && message.base === version) {
      Object.keys(message.rows_changed).forEach(function (id) {
        var row = message.rows_changed[id];
        if (typeof row === "string") { put(id, row); } else { patch(id, row); }
      });
      message.rows_removed.forEach(function (id) {
        var gone = document.getElementById(id);
        if (gone) { gone.remove(); }
      });
    } else {
      return false;
    }
    version = message.version;
    live.dataset.version = version;
    drawCharts();
    return true;
  }

  drawCharts(); // the board the page came with
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
