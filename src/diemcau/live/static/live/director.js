/* The director console: floor queue with grant/revoke/mute and a speaking timer, programme source,
 * a preview of the programme, and a paged wall of points: each one's latest thumbnail (the kiosk posts
 * a small JPEG of its camera every ~10 s; the wall reloads the page's pictures every 10 s), its name,
 * its live state and the picture's age. */
(function () {
  "use strict";
  const L = window.DiemcauLive;
  const cfg = JSON.parse(document.getElementById("live-config").textContent);
  const D = window.Diemcau;  // numbers in the page's language (app.js)
  const STATES = {
    never: gettext("Never connected"), connected: gettext("Connected"), receiving: gettext("Receiving"),
    publishing: gettext("Publishing"), floor: gettext("Has the floor"), lost: gettext("Lost"),
  };
  const $ = (id) => document.getElementById(id);
  const PAGE = 12, THUMB_EVERY = 10000;
  let queue = [], programme = null, board = null, page = 0, filter = "", thumbRound = Date.now();
  const imgs = new Map(), ages = {};
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
    if (!queue.length) { ul.append(el("li", { class: "empty" }, gettext("No request."))); return; }
    queue.forEach((r) => {
      const li = el("li", { class: r.state, "data-request": r.id, "data-point": r.point_id });
      li.append(el("div", { class: "who" }, r.who), el("div", { class: "small" }, r.point + " · " + r.unit));
      const line = el("div", { class: "actions" });
      const clock = el("span", { class: r.state === "granted" ? "timer" : "small muted", "data-since": r.granted_at || r.since });
      clock.textContent = since(r.granted_at || r.since);
      line.append(clock);
      if (r.state === "requested") {
        const g = el("button", { type: "button", class: "primary", "data-act": "grant" }, gettext("Give the floor"));
        g.onclick = () => act({ type: "grant", id: r.id, source: "point" });
        const b = el("button", { type: "button", "data-act": "grant-both" }, gettext("Side by side"));
        b.onclick = () => act({ type: "grant", id: r.id, source: "both" });
        line.append(g, b);
      }
      const rv = el("button", { type: "button", "data-act": "revoke" }, gettext("Take back"));
      rv.onclick = () => act({ type: "revoke", id: r.id });
      const m = el("button", { type: "button", "data-act": "mute" }, muted.has(r.point_id) ? gettext("Unmute") : gettext("Mute"));
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

  function ago(n) {
    return n < 90 ? interpolate(gettext("%(n)s s ago"), { n: D.number(n) }, true)
      : interpolate(gettext("%(n)s min ago"), { n: D.number(Math.round(n / 60)) }, true);
  }
  function thumb(id) {  // one <img> per point, kept across renders so a board update does not reload it
    let img = imgs.get(id);
    if (!img) {
      img = el("img", { class: "thumb", alt: "", width: "192", height: "108", loading: "lazy" });
      img.onload = () => { img.dataset.ok = "1"; };
      img.onerror = () => { img.dataset.ok = "0"; };
      imgs.set(id, img);
    }
    const src = cfg.thumb_url.replace("0", String(id)) + "?t=" + thumbRound;
    if (img.dataset.src !== src) { img.dataset.src = src; img.src = src; }
    return img;
  }
  function shown() {
    if (!board) return [];
    const f = filter.trim().toLowerCase();
    const pts = f ? board.points.filter((p) => (p.name + " " + (p.unit || "")).toLowerCase().includes(f)) : board.points;
    const pages = Math.max(1, Math.ceil(pts.length / PAGE));
    page = Math.min(page, pages - 1);
    $("wall-page").textContent = gettext("Page") + " " + D.number(page + 1) + "/" + D.number(pages);
    return pts.slice(page * PAGE, page * PAGE + PAGE);
  }
  function renderWall() {
    const wall = $("wall"); wall.replaceChildren();
    shown().forEach((p) => {
      const t = el("div", { class: "tile", "data-point": p.id });
      const age = ages[p.id];
      const none = age === null || age === undefined;
      const pic = el("div", { class: "pic" + (none ? " none" : "") });
      // Only a point that has posted a picture is asked for it: the others (never connected, or not
      // yet known) would answer 404, hundreds of times a minute on a national wall.
      if (!none && p.state !== "never") pic.append(thumb(p.id));
      pic.append(el("span", { class: "age" + (age > 30 ? " stale" : "") },
        age === null || age === undefined ? gettext("No picture yet") : ago(age)));
      t.append(pic, el("div", { class: "name" }, p.name));
      const st = el("span", { class: "state " + p.state }, STATES[p.state] || p.state);
      t.append(st);
      if (p.degraded) t.append(" ", el("span", { class: "state degraded" }, gettext("degraded")));
      if (p.figures) t.append(el("div", { class: "small muted" },
        D.number(p.figures.fps) + " fps · " + D.number(p.figures.bitrate_in_kbps) + " kbit/s"));
      wall.append(t);
    });
  }
  async function refreshThumbs() {
    const ids = shown().map((p) => p.id);
    if (!ids.length) return;
    try {
      const r = await fetch(cfg.ages_url + "?ids=" + ids.join(","), { credentials: "same-origin", cache: "no-store" });
      if (r.ok) Object.assign(ages, (await r.json()).ages);
    } catch (e) { /* the next round tries again */ }
    renderWall();
  }
  setInterval(() => { thumbRound = Date.now(); refreshThumbs(); }, THUMB_EVERY);
  $("wall-prev").onclick = () => { page = Math.max(0, page - 1); refreshThumbs(); renderWall(); };
  $("wall-next").onclick = () => { page += 1; refreshThumbs(); renderWall(); };
  $("wall-filter").oninput = (e) => { filter = e.target.value; page = 0; refreshThumbs(); renderWall(); };

  const socket = new L.LiveSocket(cfg.ws, (msg) => {
    if (msg.type === "state") { queue = msg.queue; programme = msg.programme; renderQueue(); renderProgramme(); $("console-error").textContent = ""; }
    else if (msg.type === "error") $("console-error").textContent = msg.message;
  });
  function act(m) { socket.send(m); }
  new L.LiveSocket(cfg.board_ws, (msg) => {
    if (msg.type === "board") { const first = !board; board = msg; renderWall(); if (first) refreshThumbs(); }
  });

  if (cfg.token) {
    const preview = new L.LiveJanus(cfg.root_url, cfg.token, (janus) => {
      L.watchMount(janus, cfg.main, $("pv-main"), {});
      L.watchMount(janus, cfg.side, $("pv-side"), {});
    });
    preview.start();
    L.keepTokenFresh(cfg, (token) => preview.setToken(token));
  }
})();
