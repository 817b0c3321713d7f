/* The director console: floor queue with grant/revoke/mute and a speaking timer, programme source,
 * a preview of the programme, and a paged wall of points with their live state. */
(function () {
  "use strict";
  const L = window.DiemcauLive;
  const cfg = JSON.parse(document.getElementById("live-config").textContent);
  const T = cfg.labels || {};
  const $ = (id) => document.getElementById(id);
  const PAGE = 24;
  let queue = [], programme = null, board = null, page = 0;
  const muted = new Set();

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function since(iso) {
    const s = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function renderQueue() {
    const ul = $("queue"); ul.replaceChildren();
    if (!queue.length) { ul.append(el("li", { class: "empty" }, T.empty_queue)); return; }
    queue.forEach((r) => {
      const li = el("li", { class: r.state, "data-request": r.id, "data-point": r.point_id });
      li.append(el("div", { class: "who" }, r.who), el("div", { class: "small" }, r.point + " · " + r.unit));
      const line = el("div", { class: "actions" });
      const clock = el("span", { class: r.state === "granted" ? "timer" : "small muted", "data-since": r.granted_at || r.since });
      clock.textContent = since(r.granted_at || r.since);
      line.append(clock);
      if (r.state === "requested") {
        const g = el("button", { type: "button", class: "primary", "data-act": "grant" }, T.grant);
        g.onclick = () => act({ type: "grant", id: r.id, source: "point" });
        const b = el("button", { type: "button", "data-act": "grant-both" }, T.grant_both);
        b.onclick = () => act({ type: "grant", id: r.id, source: "both" });
        line.append(g, b);
      }
      const rv = el("button", { type: "button", "data-act": "revoke" }, T.revoke);
      rv.onclick = () => act({ type: "revoke", id: r.id });
      const m = el("button", { type: "button", "data-act": "mute" }, muted.has(r.point_id) ? T.unmute : T.mute);
      m.onclick = () => { const on = !muted.has(r.point_id); on ? muted.add(r.point_id) : muted.delete(r.point_id);
        act({ type: "mute", point_id: r.point_id, muted: on }); renderQueue(); };
      line.append(rv, m);
      li.append(line); ul.append(li);
    });
  }
  setInterval(() => document.querySelectorAll("[data-since]").forEach((e) => { e.textContent = since(e.dataset.since); }), 1000);

  function renderProgramme() {
    if (!programme) return;
    $("prog-label").textContent = programme.source_label + (programme.point_name ? " – " + programme.point_name : "");
    $("preview").classList.toggle("both", programme.source === "both");
    document.querySelectorAll("[data-source]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.source === programme.source)));
  }
  document.querySelectorAll("[data-source]").forEach((b) => { b.onclick = () => act({ type: "programme", source: b.dataset.source }); });

  function renderWall() {
    const wall = $("wall"); wall.replaceChildren();
    if (!board) return;
    const pts = board.points, pages = Math.max(1, Math.ceil(pts.length / PAGE));
    page = Math.min(page, pages - 1);
    $("wall-page").textContent = T.page + " " + (page + 1) + "/" + pages;
    pts.slice(page * PAGE, page * PAGE + PAGE).forEach((p) => {
      const t = el("div", { class: "tile", "data-point": p.id });
      t.append(el("div", { class: "name" }, p.name));
      const st = el("span", { class: "state " + p.state }, T[p.state === "lost" ? "state_lost" : p.state] || p.state);
      t.append(st);
      if (p.degraded) t.append(" ", el("span", { class: "state degraded" }, T.degraded));
      if (p.figures) t.append(el("div", { class: "small muted" },
        Math.round(p.figures.fps) + " fps · " + Math.round(p.figures.bitrate_in_kbps) + " kbit/s"));
      wall.append(t);
    });
  }
  $("wall-prev").onclick = () => { page = Math.max(0, page - 1); renderWall(); };
  $("wall-next").onclick = () => { page += 1; renderWall(); };

  const socket = new L.LiveSocket(cfg.ws, (msg) => {
    if (msg.type === "state") { queue = msg.queue; programme = msg.programme; renderQueue(); renderProgramme(); $("console-error").textContent = ""; }
    else if (msg.type === "error") $("console-error").textContent = msg.message;
  });
  function act(m) { socket.send(m); }
  new L.LiveSocket(cfg.board_ws, (msg) => { if (msg.type === "board") { board = msg; renderWall(); } });

  if (cfg.token) {
    new L.LiveJanus(cfg.root_url, cfg.token, (janus) => {
      L.watchMount(janus, cfg.main, $("pv-main"), {});
      L.watchMount(janus, cfg.side, $("pv-side"), {});
    }).start();
  }
})();
