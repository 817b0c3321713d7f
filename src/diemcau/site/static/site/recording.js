// The recording page: plays the HLS VOD (natively or through hls.js) and jumps to a chapter on click.
(function () {
  "use strict";
  const video = document.getElementById("rec-player");
  if (!video) return;
  const src = video.dataset.src;
  const buttons = Array.from(document.querySelectorAll("#chapters button[data-at]"));
  function seek(seconds) {
    const go = function () { video.currentTime = seconds; video.play().catch(function () {}); };
    if (video.readyState >= 1) go(); else video.addEventListener("loadedmetadata", go, { once: true });
  }
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ enableWorker: false });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else {
    video.src = src;
  }
  buttons.forEach(function (b) { b.addEventListener("click", function () { seek(parseFloat(b.dataset.at)); }); });
  video.addEventListener("timeupdate", function () {
    let current = null;
    buttons.forEach(function (b) { if (parseFloat(b.dataset.at) <= video.currentTime + 0.25) current = b; });
    buttons.forEach(function (b) { b.classList.toggle("current", b === current); });
  });
  const start = parseFloat(video.dataset.start || "0");
  if (start > 0) seek(start);
})();
