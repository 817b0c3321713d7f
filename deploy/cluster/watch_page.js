// One viewer in a headless Chromium (janus.js and adapter.js loaded in the page): it subscribes to a
// Janus plugin as a kiosk or the director's wall would, and resolves once frames are decoded with
// what getStats says. Used by the harness's TURN-only client (media_reach.py) and the SIP tests.
// o: {server, token?, apisecret?, iceServers?, iceTransportPolicy?, plugin?, body?, wantWidth?, timeoutMs?,
//     needPair? (wait until the nominated candidate pair is known, to report how the media came)}
async (o) => {
  await new Promise((ok) => Janus.init({ debug: false, callback: ok }));
  return await new Promise((resolve) => {
    const video = document.createElement("video"); video.muted = true; document.body.appendChild(video);
    const stream = new MediaStream(); let handle = null; const started = performance.now();
    const give = (r) => resolve(r);
    let last = {};
    setTimeout(() => give({ decoding: false, why: "timeout", last }), o.timeoutMs || 25000);
    const janus = new Janus({ server: o.server, token: o.token, apisecret: o.apisecret, iceServers: o.iceServers,
      iceTransportPolicy: o.iceTransportPolicy,
      error: (e) => give({ decoding: false, why: String(e) }),
      success: () => janus.attach({ plugin: o.plugin || "janus.plugin.streaming",
        error: (e) => give({ decoding: false, why: String(e) }),
        success: (h) => { handle = h; h.send({ message: o.body || { request: "watch", id: 1 } }); },
        onmessage: (msg, jsep) => {
          if (msg.error) return give({ decoding: false, why: msg.error });
          if (jsep) handle.createAnswer({ jsep, tracks: [{ type: "data" }],
            success: (answer) => handle.send({ message: { request: "start" }, jsep: answer }),
            error: (e) => give({ decoding: false, why: String(e) }) });
        },
        onremotetrack: (track, mid, on) => {
          if (on) { stream.addTrack(track); video.srcObject = stream; video.play().catch(() => {}); }
        },
      }) });
    const look = setInterval(async () => {
      const pc = handle && handle.webrtcStuff && handle.webrtcStuff.pc;
      if (!pc) return;
      const report = await pc.getStats(); let frames = 0, width = 0, audio = 0, pair = null; const cands = {};
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") { frames += s.framesDecoded || 0; width = s.frameWidth || 0; }
        if (s.type === "inbound-rtp" && s.kind === "audio") audio += s.bytesReceived || 0;
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
        if (s.type === "local-candidate") cands[s.id] = s;
      });
      last = { frames, width };
      if (frames > 10 && width >= (o.wantWidth || 0) && (pair || !o.needPair)) {
        clearInterval(look);
        const local = (pair && cands[pair.localCandidateId]) || {};
        give({ decoding: true, frames, width, audio_bytes: audio, seconds: (performance.now() - started) / 1000,
               candidate_type: local.candidateType, relay_protocol: local.relayProtocol || null,
               url: local.url || null });
      }
    }, 200);
  });
}
