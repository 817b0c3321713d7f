/* diemcau live: the pieces every live page shares (plain JS over janus.js).
 *
 * LiveJanus  one Janus session with a token, made again with backoff after any drop
 * watchMount a Streaming mountpoint played in a <video>; hooks.onGone when Janus says it stopped
 * publishTo  a VideoRoom publisher with given tracks, as the id diemcau granted (with the token on the join)
 * LiveSocket diemcau's websocket, reopened with backoff
 * keepTokenFresh  renews the page's short-lived Janus token before it ends; open sessions move to it
 * pcFigures  WebRTC getStats reduced to the figures the board shows
 */
(function () {
  "use strict";
  const BACKOFF = [500, 1000, 1500, 2000];  // capped low: a kiosk must be back within seconds
  let initialised = null;

  function initJanus() {
    if (!initialised) {
      initialised = new Promise((resolve) => Janus.init({ debug: false, callback: resolve }));
    }
    return initialised;
  }

  class LiveJanus {
    /* server: ws URL; token: diemcau's token; onReady(janus) is called after every (re)connection. */
    constructor(server, token, onReady, onDown) {
      this.server = server; this.token = token; this.onReady = onReady; this.onDown = onDown || (() => {});
      this.attempt = 0; this.janus = null; this.closed = false; this.generation = 0;
      this.iceServers = null; this.icePolicy = "all";
    }
    setIce(servers, policy) {
      /* TURN servers (diemcau's credentials) and "all" or "relay", for every later (re)connection. */
      this.iceServers = servers && servers.length ? servers : null; this.icePolicy = policy || "all";
    }
    async start() {
      await initJanus();
      this._connect();
    }
    _connect() {
      if (this.closed) return;
      const gen = ++this.generation;
      const janus = new Janus({
        server: this.server, token: this.token,
        ...(this.iceServers ? { iceServers: this.iceServers, iceTransportPolicy: this.icePolicy } : {}),
        success: () => { if (gen !== this.generation) return; this.attempt = 0; this.janus = janus; this.onReady(janus); },
        error: (err) => { if (gen !== this.generation) return; this._retry(String(err)); },
        destroyed: () => {},
      });
    }
    _retry(reason) {
      if (this.closed) return;
      const old = this.janus; this.janus = null;
      this.generation++;
      if (old) { try { old.destroy({ cleanupHandles: true, notifyDestroyed: false }); } catch (e) { /* gone */ } }
      this.onDown(reason);
      const wait = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
      this.attempt++;
      setTimeout(() => this._connect(), wait);
    }
    restart(reason) { this._retry(reason || "restart"); }
    setToken(token) {
      /* A renewed token: used by the open session from now on, and by every later (re)connection. */
      this.token = token;
      if (this.janus && this.janus.setToken) this.janus.setToken(token);
    }
  }

  function watchMount(janus, id, video, hooks) {
    /* Watch mountpoint ``id``; hooks.onHandle(handle), hooks.onFail(reason). */
    hooks = hooks || {};
    let handle = null;
    const stream = new MediaStream();
    janus.attach({
      plugin: "janus.plugin.streaming",
      success: (h) => { handle = h; if (hooks.onHandle) hooks.onHandle(h); h.send({ message: { request: "watch", id: id } }); },
      error: (err) => hooks.onFail && hooks.onFail(String(err)),
      onmessage: (msg, jsep) => {
        if (msg.error) { if (hooks.onFail) hooks.onFail(msg.error); return; }
        // The mountpoint was destroyed (a node re-made) or this viewer kicked: nothing more will come.
        const status = msg.result && msg.result.status;
        if (status === "stopped" || status === "kicked") { if (hooks.onGone) hooks.onGone(status); return; }
        if (jsep) {
          handle.createAnswer({
            jsep: jsep, tracks: [{ type: "data" }],
            success: (answer) => handle.send({ message: { request: "start" }, jsep: answer }),
            error: (err) => hooks.onFail && hooks.onFail(String(err)),
          });
        }
      },
      onremotetrack: (track, mid, on) => {
        if (on) {
          stream.getTracks().filter((t) => t.kind === track.kind).forEach((t) => stream.removeTrack(t));
          stream.addTrack(track);
          if (video.srcObject !== stream) video.srcObject = stream;
          video.play().catch(() => {});
        } else {
          stream.getTracks().filter((t) => t.id === track.id).forEach((t) => stream.removeTrack(t));
        }
      },
      oncleanup: () => {},
    });
  }

  function publishTo(janus, cfg, tracks, hooks) {
    /* Join the root's room as publisher ``cfg.id`` and send ``tracks`` ([{type, capture: MediaStreamTrack}]). */
    hooks = hooks || {};
    let handle = null, joined = false;
    // janus.js stops the tracks it sends when its session ends; sending clones keeps the camera and
    // microphone alive for the next session after a reconnection.
    tracks = tracks.map((t) => ({ type: t.type, capture: t.capture && t.capture.clone ? t.capture.clone() : t.capture }));
    // A hall's picture keeps its size when the machine is busy (fewer frames rather than a smaller picture).
    tracks.forEach((t) => { if (t.type === "video" && t.capture && "contentHint" in t.capture) t.capture.contentHint = "detail"; });
    janus.attach({
      plugin: "janus.plugin.videoroom",
      success: (h) => {
        handle = h; if (hooks.onHandle) hooks.onHandle(h);
        // The room lets in only the tokens diemcau allows now (the studio's, the floor's kiosk's).
        h.send({ message: { request: "join", ptype: "publisher", room: cfg.room, id: cfg.id, display: cfg.display,
                            token: cfg.token } });
      },
      error: (err) => hooks.onFail && hooks.onFail(String(err)),
      onmessage: (msg, jsep) => {
        if (msg.error) {
          // A refused join ends this attempt; an error to a later request (a keyframe) does not.
          if (!joined) { if (hooks.onFail) hooks.onFail(msg.error); } else console.warn("videoroom:", msg.error);
          return;
        }
        if (msg.videoroom === "event" && msg.leaving === "ok" && msg.reason === "kicked") {
          if (hooks.onFail) hooks.onFail("kicked");
          return;
        }
        if (msg.videoroom === "joined") {
          joined = true; handle.diemcauJoined = true;
          console.info("joined the room as", msg.id);
          handle.createOffer({
            tracks: tracks.map((t) => ({ type: t.type, capture: t.capture, recv: false })),
            success: (offer) => handle.send({ message: { request: "configure", audio: true, video: true }, jsep: offer }),
            error: (err) => hooks.onFail && hooks.onFail(String(err)),
          });
        }
        if (jsep) handle.handleRemoteJsep({ jsep: jsep });
      },
      webrtcState: (up) => { if (hooks.onState) hooks.onState(up); },
      oncleanup: () => {},
    });
  }

  class LiveSocket {
    constructor(path, onMessage, onState) {
      this.path = path; this.onMessage = onMessage; this.onState = onState || (() => {});
      this.attempt = 0; this.ws = null; this.queue = [];
      this._open();
    }
    _open() {
      const proto = location.protocol === "https:" ? "wss://" : "ws://";
      const ws = new WebSocket(proto + location.host + (typeof this.path === "function" ? this.path() : this.path));
      this.ws = ws;
      ws.onopen = () => {
        this.attempt = 0; this.onState(true);
        const waiting = this.queue; this.queue = [];
        waiting.forEach((m) => ws.send(JSON.stringify(m)));
      };
      ws.onmessage = (ev) => { try { this.onMessage(JSON.parse(ev.data)); } catch (e) { console.error(e); } };
      ws.onclose = () => {
        this.onState(false);
        const wait = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
        this.attempt++;
        setTimeout(() => this._open(), wait);
      };
    }
    send(obj) {
      /* Sent now, or when the socket is (re)open: a floor request typed while it connects is not lost.
       * Only the latest message of a kind is kept while waiting (stats: the newest figures). */
      if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(obj)); return true; }
      const key = (m) => [m.type, m.id, m.point_id].join("/");  // a kind: stats; a request's grant; a point's mute
      this.queue = this.queue.filter((m) => key(m) !== key(obj));
      this.queue.push(obj);
      if (this.queue.length > 20) this.queue.shift();
      return false;
    }
  }

  async function pcFigures(pc, prev) {
    /* Reduce getStats to {fps, frames_decoded, bytes_in, bytes_out, lost, received, rtt_ms, freezes, audio_level}. */
    const out = { fps: 0, frames_decoded: 0, bytes_in: 0, bytes_out: 0, lost: 0, received: 0, rtt_ms: null,
                  freezes: 0, audio_level: 0, width: 0, fps_out: 0, available_kbps: null };
    if (!pc) return out;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        out.bytes_in += s.bytesReceived || 0;
        out.lost += Math.max(0, s.packetsLost || 0);
        out.received += s.packetsReceived || 0;
        if (s.kind === "video") {
          out.frames_decoded += s.framesDecoded || 0;
          out.fps = Math.max(out.fps, s.framesPerSecond || 0);
          out.freezes += s.freezeCount || 0;
          out.width = Math.max(out.width, s.frameWidth || 0);
        } else if (s.kind === "audio") {
          out.audio_level = Math.max(out.audio_level, s.audioLevel || 0);
        }
      } else if (s.type === "outbound-rtp") {
        out.bytes_out += s.bytesSent || 0;
        if (s.kind === "video") out.fps_out = Math.max(out.fps_out, s.framesPerSecond || 0);
      } else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) {
        out.rtt_ms = s.currentRoundTripTime * 1000;
        if (s.availableIncomingBitrate) out.available_kbps = s.availableIncomingBitrate / 1000;
      }
    });
    return out;
  }

  function keepTokenFresh(cfg, onRenewed, onLost) {
    /* Renew cfg.token when a third of its life is left; onRenewed(newToken), onLost(status) when refused. */
    const csrf = () => (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
    const lifetime = (cfg.lifetime_s || 900) * 1000;
    function schedule(delay) { setTimeout(renew, Math.max(5000, delay)); }
    async function renew() {
      let r;
      try {
        r = await fetch(cfg.renew_url, { method: "POST", credentials: "same-origin",
          headers: { "X-CSRFToken": csrf(), "X-Live-Token": cfg.token } });
      } catch (e) { schedule(15000); return; }  // offline a moment: try again
      if (r.status === 404 || r.status === 401 || r.status === 403) { if (onLost) onLost(r.status); return; }
      if (!r.ok) { schedule(15000); return; }
      const fresh = await r.json();
      cfg.token = fresh.token; cfg.expires_at = fresh.expires_at; cfg.lifetime_s = fresh.lifetime_s || cfg.lifetime_s;
      if (fresh.ice_servers) cfg.ice_servers = fresh.ice_servers;  // TURN credentials end with the token
      window.liveTokenRenewals = (window.liveTokenRenewals || 0) + 1;
      window.liveToken = fresh.token;  // the page's current token (tests read it)
      onRenewed(fresh.token);
      schedule(new Date(fresh.expires_at).getTime() - Date.now() - lifetime / 3);
    }
    if (cfg.token && cfg.renew_url) schedule(new Date(cfg.expires_at).getTime() - Date.now() - lifetime / 3);
  }

  function handlePc(handle) {
    return handle && handle.webrtcStuff ? handle.webrtcStuff.pc : null;
  }

  window.DiemcauLive = { LiveJanus, watchMount, publishTo, LiveSocket, pcFigures, handlePc, initJanus, keepTokenFresh };
})();
