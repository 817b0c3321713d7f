/* The bridge-point kiosk: the programme large, the floor, its own camera while it has the floor (as the
 * publisher id diemcau drew for the grant, heard over the websocket), stats every 5 s.
 * Posts a small JPEG of its camera every 10 s for the director's wall (api: POST points/{id}/thumbnail).
 * Runs unattended: the Janus sessions and the websocket come back by themselves after any drop.
 * Reception (cfg.renditions, cfg.hls_url): WebRTC main → the low rendition → HLS → audio only, chosen
 * from its measured figures after an ICE restart and a reconnection failed; the operator may force one.
 */
(function () {
  "use strict";
  const L = window.DiemcauLive;
  const cfg = JSON.parse(document.getElementById("live-config").textContent);
  const $ = (id) => document.getElementById(id);
  const stage = $("stage"), mainVideo = $("main"), sideVideo = $("side"), selfVideo = $("self");
  const STATS_EVERY = 5000, STALL_AFTER = 6000, SILENT_RESTART = 30000;
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";

  const state = { programme: null, floor: null, muted: false, handles: {}, pubHandle: null, pubJanus: null,
                  local: null, lastFrames: 0, lastProgress: Date.now(), prev: null, prevAt: 0, watching: false };
  window.kioskState = state;
  window.kioskFigures = null;

  function setMedia(ok, text) {
    $("media-dot").className = "dot " + (ok ? "ok" : "bad");
    $("media-state").textContent = text;
  }

  // --- the programme ---------------------------------------------------------------------------
  function showProgramme(p) {
    state.programme = p;
    stage.classList.toggle("both", p.source === "both");
    $("on-air-who").textContent = p.source === "host" ? gettext("Host studio")
      : (p.speaker ? p.speaker + " – " : "") + p.point_name + (p.source === "both" ? " · " + gettext("Host studio") : "");
  }

  function watchAll(janus) {
    state.watching = true;
    state.lastProgress = Date.now();
    state.lastFrames = 0;  // a new PeerConnection counts its frames from zero
    setMedia(false, reach.mode === "audio" ? gettext("Waiting for the sound…") : gettext("Waiting for the picture…"));
    const fail = (why) => { console.warn("watch failed", why); setTimeout(() => watcher.restart("watch: " + why), 1000); };
    const hooks = (slot) => ({ onHandle: (h) => { state.handles[slot] = h; }, onFail: fail, onGone: gone });
    state.mounts = { main: reach.mode === "audio" ? cfg.renditions.audio : reach.mode === "low" ? cfg.renditions.low : cfg.main,
                     side: cfg.side };
    if (reach.mode === "audio") {
      L.watchMount(janus, cfg.renditions.audio, audioOnly, hooks("main"));
    } else if (reach.mode === "low") {
      L.watchMount(janus, cfg.renditions.low, mainVideo, hooks("main"));
    } else {
      L.watchMount(janus, cfg.main, mainVideo, hooks("main"));
      L.watchMount(janus, cfg.side, sideVideo, hooks("side"));
    }
  }
  // Janus stopped a mountpoint (its node was re-made) or kicked this viewer: watch again now rather
  // than wait out the stall timer (STALL_AFTER, then SILENT_RESTART).
  let goneAt = 0;
  function gone(status) {
    if (Date.now() - goneAt < 1000) return;  // main and side stop together: one restart
    goneAt = Date.now();
    window.kioskGone = (window.kioskGone || 0) + 1;
    console.info("reception: mountpoint " + status + ", watching again");
    watcher.attempt = 0;
    watcher.restart("mountpoint " + status);
  }
  const watcher = new L.LiveJanus(cfg.watch_url, cfg.token, watchAll, () => {
    state.watching = false; state.handles = {}; setMedia(false, gettext("Media connection lost, reconnecting…"));
  });
  // TURN (credentials with the token) for halls behind NAT; "?ice=relay" keeps media on TURN alone.
  const icePolicy = new URLSearchParams(location.search).get("ice") === "relay" ? "relay" : "all";
  watcher.setIce(cfg.ice_servers, icePolicy);

  // --- reception: WebRTC main → low rendition → HLS → audio only ----------------------------------
  const audioOnly = $("audio-only");
  const LADDER = ["main", "low", "hls", "audio"];
  const MODE_LABELS = { auto: gettext("Automatic"), main: gettext("WebRTC"), low: gettext("Low (360p)"),
                        hls: gettext("HLS"), audio: gettext("Audio only") };
  const LOSS_BAD = 8, BAD_WINDOWS = 3, AVAILABLE_LOW_KBPS = 700, HLS_STALL = 12000;
  const offered = (m) => m === "main" || (m === "hls" ? !!cfg.hls_url : !!(cfg.renditions && cfg.renditions[m]));
  const reach = { forced: cfg.forced_mode || "auto", mode: "main", bad: 0, recoveries: 0, since: Date.now(),
                  upAfter: 120000, hls: null, hlsFailed: false, lastTime: 0 };
  window.kioskReach = reach;
  if (reach.forced !== "auto" && offered(reach.forced)) reach.mode = reach.forced;

  function showMode() {
    stage.dataset.mode = reach.mode;
    $("reception-now").textContent = MODE_LABELS[reach.mode] + (reach.forced !== "auto" ? " · " + gettext("forced") : "");
    $("reception").value = reach.forced;
  }
  function pauseWatcher() {
    watcher.closed = true; watcher.generation++;
    const j = watcher.janus; watcher.janus = null; state.handles = {}; state.watching = false;
    if (j) { try { j.destroy({ cleanupHandles: true, notifyDestroyed: false }); } catch (e) { /* gone */ } }
  }
  function stopHls() {
    if (reach.hls) { try { reach.hls.destroy(); } catch (e) { /* gone */ } reach.hls = null; }
    if (mainVideo.src) { mainVideo.removeAttribute("src"); mainVideo.load(); }
  }
  function startHls() {
    reach.hlsFailed = false; reach.lastTime = 0; state.lastProgress = Date.now();
    setMedia(false, gettext("Waiting for the picture…"));
    const play = () => {
      if (reach.mode !== "hls") return;
      mainVideo.srcObject = null;
      if (window.Hls && window.Hls.isSupported()) {
        reach.hls = new window.Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 2 });
        reach.hls.on(window.Hls.Events.ERROR, (ev, data) => { if (data.fatal) reach.hlsFailed = true; });
        reach.hls.loadSource(cfg.hls_url); reach.hls.attachMedia(mainVideo);
      } else { mainVideo.src = cfg.hls_url; }
      mainVideo.play().catch(() => {});
    };
    if (window.Hls) { play(); return; }
    const script = document.createElement("script");
    script.src = document.querySelector("[data-kiosk]").dataset.hlsJs;
    script.onload = play; script.onerror = () => { reach.hlsFailed = true; };
    document.head.appendChild(script);
  }
  function setMode(mode, why) {
    if (!offered(mode)) mode = LADDER.slice(LADDER.indexOf(mode)).find(offered) || "main";
    console.info("reception:", reach.mode, "→", mode, "(" + why + ")");
    reach.mode = mode; reach.bad = 0; reach.recoveries = 0; reach.since = Date.now();
    showMode(); stopHls();
    audioOnly.srcObject = null;
    if (mode === "hls") { pauseWatcher(); startHls(); return; }
    watcher.closed = false;
    if (cfg.token) watcher.restart("reception " + mode);
  }
  async function hlsServed() {
    /* HLS is a step only where the programme is packaged and the signed link answers. */
    try { return (await fetch(cfg.hls_url, { credentials: "omit", cache: "no-store" })).ok; } catch (e) { return false; }
  }
  async function stepDown(why) {
    if (reach.stepping) return;
    reach.stepping = true;
    try {
      let next = LADDER.slice(LADDER.indexOf(reach.mode) + 1).find(offered);
      if (next === "hls" && !(await hlsServed())) next = LADDER.slice(LADDER.indexOf("hls") + 1).find(offered);
      if (next) { reach.upAfter = Math.min(reach.upAfter * 2, 1800000); setMode(next, why); }
      else if (reach.mode === "hls") setMode("main", why + ", nothing lighter");  // a dead HLS is no refuge
      else reach.bad = 0;  // nothing lighter here: stay, and count again
    } finally { reach.stepping = false; }
  }
  function recover(why) {
    /* A stalled or broken link: an ICE restart first, then a new connection, then a lighter mode. */
    reach.recoveries++;
    state.lastProgress = Date.now();
    if (reach.recoveries === 1 && state.handles.main) {
      // Streaming "watch" again on the same mountpoint with restart: Janus offers anew with new ICE credentials.
      Object.entries(state.handles).forEach(([slot, h]) => {
        try { h.send({ message: { request: "watch", id: state.mounts[slot], restart: true } }); } catch (e) { /* gone */ }
      });
      console.info("reception: ICE restart (" + why + ")");
    } else if (reach.recoveries <= 2 || reach.forced !== "auto") {
      watcher.restart(why);
    } else {
      stepDown(why);
    }
  }
  function judge(stats) {
    /* Every report (5 s): loss or too little available bitrate for BAD_WINDOWS reports in a row → one step down;
     * long stable below the best mode → try one step up (the wait doubles each time it fails). */
    if (reach.forced !== "auto") return;
    if ((reach.mode === "main" || reach.mode === "low") && stats.packets >= 50) {  // WebRTC with a picture
      const starved = reach.mode === "main" && stats.available_kbps && stats.available_kbps < AVAILABLE_LOW_KBPS;
      reach.bad = stats.loss_window_pct > LOSS_BAD || starved ? reach.bad + 1 : 0;
      if (reach.bad >= BAD_WINDOWS) { stepDown(starved ? "available bitrate" : "packet loss"); return; }
    }
    if (reach.mode !== "main" && Date.now() - reach.since > reach.upAfter) {
      setMode(LADDER[Math.max(0, LADDER.indexOf(reach.mode) - 1)], "trying a better mode");
    }
  }
  $("reception").addEventListener("change", async (ev) => {
    const mode = ev.target.value;
    try {
      const r = await fetch("/api/live/points/" + cfg.point_id + "/mode", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Live-Token": cfg.token },
        body: JSON.stringify({ mode: mode }) });
      if (!r.ok) { showMode(); return; }
    } catch (e) { showMode(); return; }
    reach.forced = mode;
    if (mode !== "auto") setMode(mode, "forced by the operator"); else showMode();
  });

  // --- publishing own camera and microphone (only while the point has the floor) ---------------
  async function localTracks() {
    if (!state.local) {
      // One request at a time (the thumbnail and the floor may both ask); a refusal is asked again later.
      state.opening = state.opening || navigator.mediaDevices.getUserMedia({
        audio: true, video: { width: 320, height: 240, frameRate: 15 } });
      try { state.local = await state.opening; } finally { state.opening = null; }
      state.local.getAudioTracks().forEach((t) => { t.enabled = false; });
      selfVideo.srcObject = state.local;
    }
    applyMute();
    return state.local;
  }
  function applyMute() {
    if (!state.local) return;
    const live = !!(state.floor && state.floor.state === "granted" && !state.muted);
    state.local.getAudioTracks().forEach((t) => { t.enabled = live; });  // clones sent later inherit it
    const h = state.pubHandle;
    if (h && h.webrtcStuff && h.webrtcStuff.pc) {
      try { if (live) h.unmuteAudio(); else h.muteAudio(); } catch (e) { /* not sending audio yet */ }
    }
  }
  async function startPublishing(pubId) {
    if (state.pubId === pubId) return;  // started (or starting) already: floor messages come in bursts
    stopPublishing();
    state.pubId = pubId;
    let media;
    try { media = await localTracks(); } catch (e) { if (state.pubId === pubId) state.pubId = null; throw e; }
    if (state.pubId !== pubId) return;  // the floor changed while the camera opened
    selfVideo.classList.add("on");
    state.pubJanus = new L.LiveJanus(cfg.root_url, cfg.token, (janus) => {
      L.publishTo(janus, { room: cfg.room, id: pubId, display: cfg.point_name, token: cfg.token }, [
        { type: "audio", capture: media.getAudioTracks()[0] },
        { type: "video", capture: media.getVideoTracks()[0] },
      ], { onHandle: (h) => { state.pubHandle = h; },
           // Now sending: the runtime forwards this picture within moments; keyframes let viewers show it.
           onState: (up) => { if (up) { applyMute(); requestKeyframes(); } },
           onFail: (why) => {
             // One restart at a time: a refused join (the runtime allows the grant's token a moment
             // after the kiosk hears of it) or an id still held by the previous session, tried again.
             console.warn("publish failed", why);
             if (state.pubRetry) return;
             state.pubRetry = setTimeout(() => { state.pubRetry = null; if (state.pubJanus) state.pubJanus.restart(why); }, 1500);
           } });
    }, (why) => { console.warn("publishing: connection down", why); state.pubHandle = null; });
    console.info("publishing as the grant's id");
    state.pubJanus.start();
  }
  function stopPublishing() {
    state.pubId = null;  // a start still opening the camera gives up
    if (state.pubRetry) { clearTimeout(state.pubRetry); state.pubRetry = null; }
    if (!state.pubJanus) return;
    const j = state.pubJanus; state.pubJanus = null; state.pubHandle = null; state.pubId = null;
    j.closed = true;
    if (j.janus) { try { j.janus.destroy({ cleanupHandles: true }); } catch (e) { /* gone */ } }
    selfVideo.classList.remove("on");
  }

  // --- the floor -------------------------------------------------------------------------------
  let timerStart = null;
  // Janus asks a publisher for no keyframe when the runtime points the programme's forwarders at
  // it, so a kiosk just put on air asks for one itself (VideoRoom configure keyframe), a few times
  // while the runtime (which polls the programme 5 times a second) re-points the forwarders: on the
  // grant (a kiosk already publishing) and when its publishing connection comes up (a kiosk that
  // starts publishing on the grant).
  function requestKeyframes() {
    [150, 400, 800, 1500, 2500, 4000].forEach((ms) => setTimeout(() => {
      const h = state.pubHandle;
      if (h && h.diemcauJoined) h.send({ message: { request: "configure", keyframe: true } });
    }, ms));
  }
  function showFloor(f) {
    const wasGranted = !!(state.floor && state.floor.state === "granted");
    if (!wasGranted && f && f.state === "granted") requestKeyframes();
    state.floor = f;
    const s = $("floor-state");
    s.className = "floor-state " + (f ? f.state : "");
    const said = f && f.state === "granted" ? gettext("You have the floor") : gettext("Waiting for the director…");
    s.textContent = f ? said + (state.muted ? " · " + gettext("Microphone muted by the director") : "") : "";
    $("floor-ask").hidden = !!f; $("floor-who").hidden = !!f; $("floor-withdraw").hidden = !f;
    timerStart = f && f.granted_at ? new Date(f.granted_at).getTime() : null;
    if (f && f.state === "granted" && f.publisher_id) startPublishing(f.publisher_id).catch((e) => console.error(e));
    else stopPublishing();
    applyMute();
  }
  setInterval(() => {
    const el = $("floor-timer");
    if (!timerStart) { el.textContent = ""; return; }
    const s = Math.max(0, Math.floor((Date.now() - timerStart) / 1000));
    el.textContent = String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }, 1000);

  $("floor-ask").addEventListener("click", () => {
    const who = $("floor-who").value.trim();
    if (!who) { $("floor-who").placeholder = gettext("Type who will speak first."); $("floor-who").focus(); return; }
    socket.send({ type: "floor_request", who: who });
  });
  $("floor-withdraw").addEventListener("click", () => socket.send({ type: "floor_withdraw" }));
  $("sound-on").addEventListener("click", () => {
    mainVideo.muted = false; sideVideo.muted = true; audioOnly.muted = false; $("sound-on").hidden = true;
    audioOnly.play().catch(() => {});
  });

  // --- diemcau's websocket ---------------------------------------------------------------------
  // The token as of each (re)connection: after a renewal the first one ends, and a reconnection
  // with it would be refused (4403) for as long as the page lives.
  const wsPath = () => cfg.ws + "?token=" + encodeURIComponent(cfg.token);
  const socket = new L.LiveSocket(wsPath, (msg) => {
    if (msg.type === "hello" || msg.type === "floor") {
      if (msg.programme) showProgramme(msg.programme);
      showFloor(msg.floor);
    } else if (msg.type === "programme") {
      showProgramme(msg.programme);
    } else if (msg.type === "move") {
      // The edge this kiosk watched died: watch the node diemcau names now, with the token it sent.
      Object.assign(cfg, msg.config);
      watcher.server = cfg.watch_url; watcher.setToken(cfg.token); watcher.attempt = 0;
      if (state.pubJanus) state.pubJanus.setToken(cfg.token);
      watcher.restart("moved to " + cfg.watch_node);
    } else if (msg.type === "mute") {
      state.muted = msg.muted; showFloor(state.floor);
    } else if (msg.type === "error" && msg.code !== "too_frequent") {
      console.warn("diemcau:", msg.code, msg.message);
    }
  }, (up) => {
    $("ws-dot").className = "dot " + (up ? "ok" : "bad");
    $("ws-state").textContent = up ? gettext("Connected to diemcau") : gettext("diemcau unreachable, retrying…");
  });

  // --- statistics: every 5 s to diemcau; a stalled picture is watched again ----------------------
  async function figures() {
    const main = await L.pcFigures(L.handlePc(state.handles.main));
    const side = await L.pcFigures(L.handlePc(state.handles.side));
    const pub = await L.pcFigures(L.handlePc(state.pubHandle));
    return { main, side, pub, at: Date.now() };
  }
  async function sample() {
    let f;
    try { f = await figures(); } catch (e) { return; }
    window.kioskFigures = f;
    if (reach.mode === "hls") { sampleHls(); return f; }
    // Progress: frames decoded (main, low) or audio bytes arriving (audio only).
    const frames = reach.mode === "audio" ? f.main.bytes_in : f.main.frames_decoded + f.side.frames_decoded;
    if (frames > state.lastFrames || (frames > 0 && frames < state.lastFrames)) {
      state.lastProgress = Date.now();
      reach.recoveries = 0;
      if (state.watching) setMedia(true, reach.mode === "audio" ? gettext("Programme live (sound only)") : gettext("Programme live"));
    } else if (state.watching && Date.now() - state.lastProgress > STALL_AFTER) {
      // Nothing arriving: recover only if the link to the node is broken (or silent for long); a link
      // that is up is kept, so the picture is back with the next keyframe when the source returns.
      const pc = L.handlePc(state.handles.main);
      const broken = !pc || ["failed", "disconnected", "closed"].includes(pc.iceConnectionState);
      if (broken || Date.now() - state.lastProgress > SILENT_RESTART) recover(broken ? "link broken" : "stalled");
    }
    state.lastFrames = frames;
    return f;
  }
  function sampleHls() {
    const t = mainVideo.currentTime;
    if (t > reach.lastTime) { reach.lastTime = t; state.lastProgress = Date.now(); setMedia(true, gettext("Programme live (HLS)")); }
    else if (reach.forced === "auto" && (reach.hlsFailed || Date.now() - state.lastProgress > HLS_STALL)) stepDown("HLS stalled");
  }
  setInterval(sample, 1000);
  setInterval(async () => {
    const f = window.kioskFigures;
    if (!f) return;
    const prev = state.prev, dt = prev ? (f.at - prev.at) / 1000 : 0;
    const bytesIn = f.main.bytes_in + f.side.bytes_in, bytesOut = f.pub.bytes_out;
    const rate = (now, before) => (dt > 0 && now >= before ? ((now - before) * 8) / 1000 / dt : 0);
    const lost = f.main.lost + f.side.lost, recv = f.main.received + f.side.received;
    const stats = {
      phase: f.pub.bytes_out > 0 ? "publishing" : (f.main.fps > 0 || f.side.fps > 0 ? "receiving" : "connected"),
      bitrate_in_kbps: prev ? rate(bytesIn, prev.main.bytes_in + prev.side.bytes_in) : 0,
      bitrate_out_kbps: prev ? rate(bytesOut, prev.pub.bytes_out) : 0,
      loss_pct: lost + recv > 0 ? (100 * lost) / (lost + recv) : 0,
      rtt_ms: f.main.rtt_ms !== null ? f.main.rtt_ms : (f.pub.rtt_ms !== null ? f.pub.rtt_ms : null),
      fps: Math.max(f.main.fps, f.side.fps), frames_decoded: f.main.frames_decoded + f.side.frames_decoded,
      freezes: f.main.freezes + f.side.freezes, audio_level: Math.min(1, f.main.audio_level),
      mode: reach.mode,
    };
    if (stats.rtt_ms === null) delete stats.rtt_ms;
    if (reach.mode === "hls" || reach.mode === "audio") stats.phase = "receiving";
    if (reach.mode === "hls") {  // no WebRTC figures: the video element's own count of frames shown
      const shown = mainVideo.getVideoPlaybackQuality ? mainVideo.getVideoPlaybackQuality().totalVideoFrames : 0;
      stats.fps = dt > 0 && shown >= (reach.shown || 0) ? (shown - (reach.shown || 0)) / dt : 0;
      stats.frames_decoded = shown; reach.shown = shown;
    }
    state.prev = f;
    // The loss of this window (the report's loss_pct counts since the connection began).
    const dLost = prev ? lost - prev.main.lost - prev.side.lost : 0, dRecv = prev ? recv - prev.main.received - prev.side.received : 0;
    judge({ loss_window_pct: dLost >= 0 && dRecv > 0 ? (100 * dLost) / (dLost + dRecv) : 0, packets: dRecv,
            available_kbps: f.main.available_kbps });
    socket.send({ type: "stats", stats: stats });
  }, STATS_EVERY);

  // --- the thumbnail: a small JPEG of the camera every 10 s for the director's wall --------------
  // The camera is opened at start (the microphone stays disabled until the floor is granted, see
  // applyMute); nothing is published to Janus until the point asks for the floor.
  const THUMB_EVERY = 10000;
  const canvas = document.createElement("canvas"); canvas.width = 192; canvas.height = 108;
  const grab = document.createElement("video"); grab.muted = true; grab.playsInline = true;
  async function postThumbnail() {
    if (!cfg.token) return;
    try { await localTracks(); } catch (e) { return; }  // no camera (yet): try again next round
    if (grab.srcObject !== state.local) { grab.srcObject = state.local; await grab.play().catch(() => {}); }
    const w = grab.videoWidth, h = grab.videoHeight;
    if (!w || !h) return;
    const scale = Math.max(canvas.width / w, canvas.height / h), sw = canvas.width / scale, sh = canvas.height / scale;
    canvas.getContext("2d").drawImage(grab, (w - sw) / 2, (h - sh) / 2, sw, sh, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.6));
    if (!blob) return;
    try {
      const r = await fetch("/api/live/points/" + cfg.point_id + "/thumbnail", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "image/jpeg", "X-CSRFToken": csrf, "X-Live-Token": cfg.token }, body: blob });
      window.kioskThumbs = (window.kioskThumbs || 0) + (r.ok ? 1 : 0);
    } catch (e) { /* the next round tries again */ }
  }
  setTimeout(postThumbnail, 1500);
  setInterval(postThumbnail, THUMB_EVERY);

  // The token lasts minutes: renewed while the page is open (and the right holds), everywhere it is used.
  L.keepTokenFresh(cfg, (token) => {
    watcher.setToken(token);
    watcher.setIce(cfg.ice_servers, icePolicy);  // fresh TURN credentials for the next connection
    if (state.pubJanus) state.pubJanus.setToken(token);
    socket.path = cfg.ws + "?token=" + encodeURIComponent(token);
  }, () => setMedia(false, gettext("Media connection lost, reconnecting…")));

  showMode();
  if (!cfg.token) setMedia(false, gettext("Media connection lost, reconnecting…"));
  else if (reach.mode === "hls") { watcher.closed = true; L.initJanus(); startHls(); }
  else watcher.start();
})();
