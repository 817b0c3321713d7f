/* The technical check: camera, microphone level, the speaker tone confirmed by the operator, and the
 * bandwidth and round trip measured by receiving the programme from the point's node for a few seconds. */
(function () {
  "use strict";
  const L = window.DiemcauLive;
  const cfg = JSON.parse(document.getElementById("live-config").textContent);
  const $ = (id) => document.getElementById(id);
  const result = { camera_ok: false, microphone_ok: false, mic_level: 0, speakers_ok: false, bandwidth_kbps: null, rtt_ms: null };
  window.checkResult = result;
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";

  // What the browser's refusal means at a hall, and what the operator does about it (in plain words,
  // never the error's name): the names are the Media Capture spec's DOMException names.
  const PROBLEMS = {
    NotFoundError: [gettext("No camera or microphone was found on this computer."),
      gettext("Plug in the camera (or a USB webcam) and the microphone, then reload this page.")],
    NotAllowedError: [gettext("The browser is not allowed to use the camera and microphone."),
      gettext("Click the padlock beside the page's address, allow the camera and the microphone, then reload this page.")],
    NotReadableError: [gettext("The camera or microphone is being used by another program."),
      gettext("Close Zoom, Teams or any other program that uses the camera, then reload this page.")],
    OverconstrainedError: [gettext("The camera cannot give the picture size the check asks for."),
      gettext("Try another camera, or unplug the camera and plug it in again, then reload this page.")],
  };
  const OTHER = [gettext("The camera or microphone could not be opened."),
    gettext("Reload this page; if it fails again, try another computer or camera and call the technical team.")];

  function tellProblem(error) {
    const [what, todo] = PROBLEMS[error && error.name] || OTHER;
    $("c-camera").textContent = gettext("Not working");
    $("c-camera").className = "error";
    const box = $("c-problem");
    box.querySelector("[data-what]").textContent = what;
    box.querySelector("[data-todo]").textContent = todo;
    box.dataset.error = (error && error.name) || "";
    box.hidden = false;
  }

  async function openDevices() {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
    } catch (e) {
      // A camera that cannot do 320×240 is still a camera: ask for any picture before giving up.
      if (e.name === "OverconstrainedError") return navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      throw e;
    }
  }

  async function devices() {
    try {
      const media = await openDevices();
      $("c-video").srcObject = media;
      result.camera_ok = media.getVideoTracks().length > 0;
      $("c-camera").textContent = result.camera_ok ? gettext("Working") : gettext("Not working");
      const ctx = new AudioContext(), analyser = ctx.createAnalyser();
      ctx.createMediaStreamSource(media).connect(analyser);
      const data = new Uint8Array(analyser.fftSize);
      setInterval(() => {
        analyser.getByteTimeDomainData(data);
        let peak = 0; data.forEach((v) => { peak = Math.max(peak, Math.abs(v - 128) / 128); });
        result.mic_level = Math.max(result.mic_level, peak);
        $("c-meter").style.width = Math.round(peak * 100) + "%";
        result.microphone_ok = media.getAudioTracks().length > 0 && result.mic_level > 0.01;
        $("c-mic").textContent = result.microphone_ok ? gettext("Working") : "…";
      }, 200);
    } catch (e) { tellProblem(e); }
  }
  $("c-tone").onclick = () => {
    const ctx = new AudioContext(), osc = ctx.createOscillator();
    osc.frequency.value = 440; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 2);
  };
  $("c-heard").onchange = (e) => { result.speakers_ok = e.target.checked; };

  function network() {
    if (!cfg.token) return;
    let handle = null, first = null;
    const probe = document.createElement("video"); probe.muted = true;
    new L.LiveJanus(cfg.watch_url, cfg.token, (janus) => {
      L.watchMount(janus, cfg.main, probe, { onHandle: (h) => { handle = h; } });
      const timer = setInterval(async () => {
        const f = await L.pcFigures(L.handlePc(handle));
        if (!first && f.bytes_in > 0) first = { f, at: Date.now() };
        if (f.rtt_ms !== null) result.rtt_ms = f.rtt_ms;
        if (first && Date.now() - first.at >= 4000) {
          result.bandwidth_kbps = ((f.bytes_in - first.f.bytes_in) * 8) / (Date.now() - first.at);
          clearInterval(timer);
          $("c-net").textContent = Diemcau.number(result.bandwidth_kbps) + " kbit/s · " + Diemcau.number(result.rtt_ms || 0) + " ms";
          $("c-save").disabled = false;
        }
      }, 500);
    }).start();
  }
  $("c-save").onclick = async () => {
    const r = await fetch(cfg.save_url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(result) });
    const body = await r.json();
    $("c-result").textContent = r.ok ? gettext("Check saved.") + " " + (body.passed ? gettext("Passed") : gettext("Not passed")) : body.message;
  };
  devices(); network();
})();
