/* The site board: every point's state and health, alarms, roll-up by unit; updated by websocket. */
(function () {
  "use strict";
  const L = window.DiemcauLive;
  const cfg = JSON.parse(document.getElementById("live-config").textContent);
  const D = window.Diemcau;  // numbers and times in the page's language and zone (app.js)
  const $ = (id) => document.getElementById(id);
  let last = null;
  window.boardData = null;

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  const fmt = (v, d) => (v === null || v === undefined ? "–" : D.number(v, d));
  const STATES = {
    never: gettext("Never connected"), connected: gettext("Connected"), receiving: gettext("Receiving"),
    publishing: gettext("Publishing"), floor: gettext("Has the floor"), lost: gettext("Lost"),
  };
  const label = (s) => STATES[s] || s;

  function render() {
    const b = last; if (!b) return;
    $("board-at").textContent = D.time(b.at);
    $("nodes").replaceChildren(...b.nodes.map((n) => {
      const s = el("span", { class: "conn", "data-node": n.name, "data-state": n.state });
      s.append(el("span", { class: "dot " + (n.state === "up" ? "ok" : "bad") }), n.name + ": " + (n.state === "up" ? gettext("running") : gettext("DOWN")));
      return s;
    }));
    $("rollup").replaceChildren(...b.rollup.map((r) => {
      const c = el("div", { class: "card" });
      c.append(el("div", { class: "small muted" }, r.unit),
        el("div", { class: "big" }, interpolate(gettext("%(live)s of %(total)s points live, %(degraded)s degraded"),
          { live: D.number(r.live), total: D.number(r.total), degraded: D.number(r.degraded) }, true)));
      return c;
    }));
    const alarms = b.alarms.length ? b.alarms.map((a) => el("li", {}, a.label + ": " + a.where + " (" + D.time(a.since) + ")"))
      : [el("li", { class: "empty", style: "background:none;border:0" }, gettext("No alarm."))];
    $("alarms").replaceChildren(...alarms);
    const text = $("filter-text").value.trim().toLowerCase(), want = $("filter-state").value;
    const rows = b.points.filter((p) => (!text || (p.name + " " + p.unit + " " + p.group).toLowerCase().includes(text))
      && (!want || p.state === want || (want === "degraded" && p.degraded)));
    $("board").tBodies[0].replaceChildren(...rows.map((p) => {
      const f = p.figures || {};
      const tr = el("tr", { "data-point": p.id, "data-state": p.state });
      const st = el("td"); st.append(el("span", { class: "state " + p.state }, label(p.state)));
      if (p.degraded) st.append(" ", el("span", { class: "state degraded" }, gettext("degraded")));
      tr.append(el("td", {}, p.name), el("td", { class: "small" }, p.unit), st,
        el("td", { class: "small" }, p.node + (p.node_up ? "" : " ⚠")),
        el("td", { class: "num" }, fmt(f.bitrate_in_kbps)), el("td", { class: "num" }, fmt(f.bitrate_out_kbps)),
        el("td", { class: "num" }, fmt(f.loss_pct, 1)), el("td", { class: "num" }, fmt(f.rtt_ms)),
        el("td", { class: "num" }, fmt(f.fps)), el("td", { class: "num" }, fmt(f.freezes)),
        el("td", { class: "num" }, fmt(f.audio_level, 2)), el("td", { class: "num" }, p.gaps));
      return tr;
    }));
  }
  $("filter-text").addEventListener("input", render);
  $("filter-state").addEventListener("change", render);
  new L.LiveSocket(cfg.ws, (msg) => { if (msg.type === "board") { last = msg; window.boardData = msg; render(); } });
})();
