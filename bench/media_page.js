// bench/media.py's page: senders that draw their clock into a canvas, receivers that read it back.
// Injected after adapter.js and janus.js into one page, so senders and receivers share one clock
// (performance.now()). Plain JS, no bundler; everything is under window.MB.
"use strict";

(function () {
  const W = 640, H = 360;            // sender canvas
  const COLS = 8, ROWS = 4, BLOCK = 80; // 32 blocks of 80x80 px at the top; a label strip below
  const SW = 64, SH = 36;            // receivers read a 64x36 copy: a block is 8x8 px there
  const MASK = 0xFFFFFF;

  function check(time, sender) {
    let sum = sender;
    for (let i = 0; i < 24; i += 4) sum += (time >>> i) & 15;
    return (sum & 15) ^ 0xA;         // an all-black or all-white picture never checks
  }

  // 24 bits of time (ms), 4 bits of sender id, 4 bits of check; bit i is block i, white = 1.
  function draw(ctx, sender, label) {
    const time = Math.round(performance.now()) & MASK;
    const word = (time | (sender << 24) | (check(time, sender) << 28)) >>> 0;
    for (let i = 0; i < 32; i++) {
      ctx.fillStyle = (word >>> i) & 1 ? "#fff" : "#000";
      ctx.fillRect((i % COLS) * BLOCK, Math.floor(i / COLS) * BLOCK, BLOCK, BLOCK);
    }
    ctx.fillStyle = ["#246", "#a30", "#063", "#606"][sender % 4];
    ctx.fillRect(0, ROWS * BLOCK, W, H - ROWS * BLOCK);
    ctx.fillStyle = "#fff";
    ctx.font = "24px sans-serif";
    ctx.fillText(label + " " + time, 12, ROWS * BLOCK + 30);
  }

  function read(ctx) {
    const px = ctx.getImageData(0, 0, SW, SH).data;
    let word = 0;
    for (let i = 0; i < 32; i++) {
      const x = (i % COLS) * 8 + 3, y = Math.floor(i / COLS) * 8 + 3;
      let luma = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const o = ((y + dy) * SW + x + dx) * 4;
        luma += 0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2];
      }
      if (luma / 4 > 128) word |= 1 << i;
    }
    word >>>= 0;
    const time = word & MASK, sender = (word >>> 24) & 15, sum = (word >>> 28) & 15;
    return sum === check(time, sender) ? { time, sender } : null;
  }

  const MB = {
    senders: {}, receivers: {}, janus: {}, subscribers: [], watchers: {}, publishers: {},

    // A canvas that redraws its clock every frame interval, and its captured video track.
    sender(id, label, fps = 30) {
      const canvas = document.createElement("canvas");
      canvas.width = W; canvas.height = H;
      canvas.style.width = "160px";
      document.body.appendChild(canvas);
      const ctx = canvas.getContext("2d");
      draw(ctx, id, label);
      const timer = setInterval(() => draw(ctx, id, label), 1000 / fps);
      const stream = canvas.captureStream();
      MB.senders[id] = { canvas, timer, stream, track: stream.getVideoTracks()[0] };
      return MB.senders[id];
    },

    // A video element whose every decoded frame is read back: latency = now - the clock in it.
    receiver(name, track) {
      const video = document.createElement("video");
      video.muted = true; video.autoplay = true; video.playsInline = true;
      video.style.width = "160px";
      video.srcObject = new MediaStream([track]);
      document.body.appendChild(video);
      const canvas = document.createElement("canvas");
      canvas.width = SW; canvas.height = SH;
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      const r = { name, video, frames: [], bad: 0 };
      MB.receivers[name] = r;
      const onFrame = () => {
        const now = performance.now();
        ctx.drawImage(video, 0, 0, SW, SH);
        const got = read(ctx);
        if (got) {
          let lat = ((Math.round(now) - got.time) % (MASK + 1) + MASK + 1) % (MASK + 1);
          if (lat > MASK / 2) lat = 0;  // rounding put the reading a hair before the drawing
          r.frames.push([performance.timeOrigin + now, got.sender, lat]);
        } else {
          r.bad += 1;
        }
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
      video.play().catch(() => {});
      return r;
    },

    // Frames seen since an epoch time (ms): [epoch ms, sender, latency ms] each.
    frames(name, since = 0) {
      const r = MB.receivers[name];
      return { frames: r.frames.filter(f => f[0] >= since), bad: r.bad };
    },

    session(server, token) {
      const key = server + " " + token;
      if (MB.janus[key]) return MB.janus[key];
      MB.janus[key] = new Promise((resolve, reject) => {
        Janus.init({ debug: false, callback: () => {
          const janus = new Janus({ server, token, success: () => resolve(janus),
                                    error: e => reject(new Error("janus: " + e)) });
        } });
      });
      return MB.janus[key];
    },

    // Publish sender `id`'s canvas to a VideoRoom (H.264 chosen by the room); resolves with the
    // publisher id and the video's mid once Janus has answered.
    async publish(server, token, room, id) {
      const janus = await MB.session(server, token);
      const track = MB.senders[id].track;
      return new Promise((resolve, reject) => {
        let handle;
        janus.attach({
          plugin: "janus.plugin.videoroom",
          success: h => {
            handle = h;
            handle.send({ message: { request: "join", ptype: "publisher", room, display: "sender-" + id } });
          },
          error: e => reject(new Error("attach: " + e)),
          onmessage: (msg, jsep) => {
            if (msg.videoroom === "joined") {
              handle.createOffer({
                tracks: [{ type: "video", capture: track, recv: false }],
                success: offer => handle.send({ message: { request: "publish", audio: false, video: true }, jsep: offer }),
                error: e => reject(new Error("offer: " + e)),
              });
              handle.publisherId = msg.id;
            } else if (msg.error) {
              reject(new Error(msg.error));
            }
            if (jsep) {
              handle.handleRemoteJsep({ jsep });
              const t = handle.webrtcStuff.pc.getTransceivers().find(t => t.sender.track === track);
              const codec = (jsep.sdp.match(/a=rtpmap:\d+ (\w+)\/90000/) || [])[1];
              MB.publishers[id] = handle;
              resolve({ publisherId: handle.publisherId, mid: t ? t.mid : "0", codec,
                        session: janus.getSessionId(), handle: handle.getId() });
            }
          },
        });
      });
    },

    // Ask Janus to request a keyframe from publisher `id` (VideoRoom configure keyframe: true on the
    // publisher's own handle): what the page on air does when the programme switches to it.
    keyframe(id) {
      return new Promise(resolve => MB.publishers[id].send({
        message: { request: "configure", keyframe: true }, success: () => resolve(performance.timeOrigin + performance.now()),
      }));
    },

    // Watch a Streaming mountpoint; with `name` every frame is read back, without it the track is
    // only received (the subscribers of the CPU measurement). Resolves once the track arrives.
    async watch(server, token, mountpoint, name, retry = true) {
      try {
        return await MB.watchOnce(server, token, mountpoint, name);
      } catch (e) {
        if (!retry || !/458|No such session/.test(String(e))) throw e;
        delete MB.janus[server + " " + token];  // the session expired (a starved page): a new one
        return MB.watch(server, token, mountpoint, name, false);
      }
    },

    async watchOnce(server, token, mountpoint, name) {
      const janus = await MB.session(server, token);
      return new Promise((resolve, reject) => {
        let handle;
        const entry = { name, handle: null, track: null };
        janus.attach({
          plugin: "janus.plugin.streaming",
          success: h => { handle = h; entry.handle = h; handle.send({ message: { request: "watch", id: mountpoint } }); },
          error: e => reject(new Error("attach: " + e)),
          onmessage: (msg, jsep) => {
            if (msg.error) reject(new Error(msg.error));
            if (jsep) {
              handle.createAnswer({
                jsep, tracks: [],
                success: answer => handle.send({ message: { request: "start" }, jsep: answer }),
                error: e => reject(new Error("answer: " + e)),
              });
            }
          },
          onremotetrack: (track, mid, on) => {
            if (!on || track.kind !== "video" || entry.track) return;
            entry.track = track;
            if (name) MB.receiver(name, track);
            else MB.dropFrames(handle, track);
            resolve(true);
          },
        });
        if (name) MB.watchers[name] = entry; else MB.subscribers.push(entry);
      });
    },

    // A subscriber of the CPU measurement receives every packet (SRTP, RTCP feedback, frame assembly)
    // but hands its frames to a transform that drops them, so 50 of them do not make Chromium decode
    // 50 videos on a shared 2-core machine. Janus cannot tell the difference.
    dropFrames(handle, track) {
      if (!window.RTCRtpScriptTransform) return;
      if (!MB.dropWorker) {
        const code = "onrtctransform = e => { const r = e.transformer.readable.getReader();" +
          " const pump = () => r.read().then(x => { if (!x.done) pump(); }); pump(); };";
        MB.dropWorker = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
      }
      const receiver = handle.webrtcStuff.pc.getReceivers().find(r => r.track === track);
      if (receiver) receiver.transform = new RTCRtpScriptTransform(MB.dropWorker, {});
    },

    // Add n CPU-test subscribers, waiting at most `seconds`; resolves with how many got their track.
    async addSubscribers(server, token, mountpoint, n, seconds) {
      let got = 0;
      const all = Promise.all(Array.from({ length: n }, () =>
        MB.watch(server, token, mountpoint, null).then(() => { got += 1; }, () => {})));
      await Promise.race([all, new Promise(resolve => setTimeout(resolve, seconds * 1000))]);
      return got;
    },

    // Bytes and frames the CPU-test subscribers received, from getStats.
    async subscriberStats() {
      let bytes = 0, frames = 0, live = 0;
      const pcs = MB.subscribers.map(s => s.handle && s.handle.webrtcStuff.pc).filter(Boolean);
      for (const stats of await Promise.all(pcs.map(pc => pc.getStats().catch(() => new Map())))) {
        stats.forEach(r => {
          if (r.type === "inbound-rtp" && r.kind === "video") {
            bytes += r.bytesReceived || 0; frames += r.framesDecoded || 0;
            if (r.bytesReceived > 0) live += 1;
          }
        });
      }
      return { count: MB.subscribers.length, live, bytes, frames, at: performance.now() };
    },

    // The inbound video statistics of a named watcher (diagnostics).
    async inbound(name) {
      const pc = MB.watchers[name].handle.webrtcStuff.pc;
      const out = [];
      (await pc.getStats()).forEach(r => { if (r.type === "inbound-rtp") out.push(r); });
      return out;
    },

    async dropSubscribers() {
      for (const s of MB.subscribers) if (s.handle) s.handle.detach();
      MB.subscribers = [];
    },

    // The baseline: sender `id` straight into a second PeerConnection in this page (no Janus),
    // H.264 preferred as in the programme.
    async loopback(id, name) {
      const a = new RTCPeerConnection(), b = new RTCPeerConnection();
      a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
      b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
      const got = new Promise(resolve => { b.ontrack = e => resolve(e.track); });
      const tr = a.addTransceiver(MB.senders[id].track, { direction: "sendonly" });
      const h264 = RTCRtpSender.getCapabilities("video").codecs.filter(
        c => c.mimeType === "video/H264" && /42e01f/.test(c.sdpFmtpLine || "") && /packetization-mode=1/.test(c.sdpFmtpLine || ""));
      if (h264.length) tr.setCodecPreferences(h264);
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(a.localDescription);
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(b.localDescription);
      MB.receiver(name, await got);
      MB.loopbackPcs = [a, b];
      return (b.remoteDescription.sdp.match(/a=rtpmap:\d+ (\w+)\/90000/) || [])[1];
    },
  };
  window.MB = MB;
})();
