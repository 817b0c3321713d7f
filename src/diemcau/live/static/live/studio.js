/* The host studio: publishes camera and microphone (or the screen) into the root's room as the id of
 * its own credential (a studio token drawn for this page; the runtime forwards nothing else as the host). */
(function () {
  "use strict";
  const L = window.DiemcauLive;
  const cfg = JSON.parse(document.getElementById("live-config").textContent);
  const $ = (id) => document.getElementById(id);
  let conn = null, handle = null, retry = null;
  window.studioState = { publishing: false };

  function publish(media) {
    $("studio-self").srcObject = media;
    if (conn) { conn.closed = true; if (conn.janus) conn.janus.destroy({ cleanupHandles: true }); }
    conn = new L.LiveJanus(cfg.root_url, cfg.token, (janus) => {
      const tracks = [];
      media.getAudioTracks().slice(0, 1).forEach((t) => tracks.push({ type: "audio", capture: t }));
      media.getVideoTracks().slice(0, 1).forEach((t) => tracks.push({ type: "video", capture: t }));
      L.publishTo(janus, { room: cfg.room, id: cfg.publisher_id, display: "studio", token: cfg.token }, tracks, {
        onHandle: (h) => { handle = h; },
        onState: (up) => { window.studioState.publishing = up; $("studio-state").textContent = up ? gettext("Camera and microphone are on") : gettext("Media connection lost, reconnecting…"); },
        onFail: (why) => {
          $("studio-state").textContent = why;
          if (retry) return;  // one restart at a time
          retry = setTimeout(() => { retry = null; conn.restart(why); }, 1500);
        },
      });
    }, () => { window.studioState.publishing = false; $("studio-state").textContent = gettext("Media connection lost, reconnecting…"); });
    conn.start();
  }
  $("go-camera").onclick = async () => publish(await navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: 480, height: 270, frameRate: 15 } }));
  $("go-screen").onclick = async () => {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
    let mic = null;
    try { mic = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (e) { /* slides without voice */ }
    const media = new MediaStream([...screen.getVideoTracks(), ...(mic ? mic.getAudioTracks() : [])]);
    publish(media);
  };
  window.studioHandle = () => handle;
  L.keepTokenFresh(cfg, (token) => {
    if (conn) conn.setToken(token);
    if (socket) socket.path = cfg.ws + "?token=" + encodeURIComponent(token);
  }, () => { $("studio-state").textContent = gettext("Media connection lost, reconnecting…"); });
  // Figures of the studio's sending side, as the host point's kiosk would send them.
  let socket = null;
  if (cfg.ws) {
    socket = new L.LiveSocket(cfg.ws + "?token=" + encodeURIComponent(cfg.token), () => {});
    let prev = null;
    setInterval(async () => {
      const f = await L.pcFigures(L.handlePc(handle));
      const now = Date.now();
      const out = prev ? ((f.bytes_out - prev.f.bytes_out) * 8) / (now - prev.at) : 0;
      prev = { f, at: now };
      const stats = { phase: f.bytes_out > 0 ? "publishing" : "connected", bitrate_out_kbps: Math.max(0, out), fps: f.fps_out };
      if (f.rtt_ms !== null) stats.rtt_ms = f.rtt_ms;
      socket.send({ type: "stats", stats: stats });
    }, 5000);
  }
})();
