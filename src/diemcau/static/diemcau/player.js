// The in-page HLS player ([data-hls-player]): the programme's playlist in a <video>, with "audio
// only" as a choice for a weak connection. hls.js (vendored, light build) is fetched only when the
// person presses play, so a page that carries the player stays small. Chromium plays HLS through
// Media Source Extensions with hls.js; a browser that plays HLS itself (Safari, iOS) gets the URL.
(function () {
  "use strict";
  var loading = null;

  function loadHls(src) {
    if (window.Hls) { return Promise.resolve(window.Hls); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = function () { resolve(window.Hls); };
        s.onerror = function () { loading = null; reject(new Error("hls.js")); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  // The playlist of the audio-only rendition, if the master playlist lists one (a variant with an audio
  // codec and no picture). hls.js drops such variants from its levels when there is video, so it is
  // read from the manifest as loaded; "sound only" then loads that playlist instead of the master.
  function audioOnlyUrl(levels) {
    for (var i = 0; i < levels.length; i++) {
      var l = levels[i];
      if (l.audioCodec && !l.videoCodec && !l.width && l.url) { return l.url; }
    }
    return null;
  }

  function setup(box) {
    var video = box.querySelector("video");
    var play = box.querySelector("[data-play]");
    var audio = box.querySelector("[data-audio-only]");
    var state = box.querySelector("[data-state]");
    var url = box.dataset.src;
    var hls = null;
    var audioUrl = null;
    var current = null;  // the playlist loaded now (the master or the audio rendition's)

    function say(text) { if (state) { state.textContent = text; } }

    function ready() {
      box.classList.add("playing");
      play.hidden = true;
      say("");
      var p = video.play();
      if (p && p.catch) { p.catch(function () { video.muted = true; video.play(); }); }
    }

    // One hls.js instance per source, on a fresh MediaSource: the audio rendition has no picture
    // track, so it does not continue the master's buffers.
    function load(Hls, src) {
      if (hls) { hls.destroy(); }
      current = src;
      // No worker: the page's CSP allows scripts from this site only, and a blob: worker is not one.
      hls = new Hls({enableWorker: false});
      box.hls = hls;
      hls.on(Hls.Events.MANIFEST_LOADED, function (_e, data) {
        if (src === url) {
          audioUrl = audioOnlyUrl(data.levels || []);
          box.dataset.audioRendition = audioUrl ? "1" : "0";
        }
      });
      hls.on(Hls.Events.MANIFEST_PARSED, function () {
        ready();
        if (src === url) { setTimeout(applyAudioOnly, 0); }  // "sound only" pressed before play
      });
      hls.on(Hls.Events.ERROR, function (_e, data) {
        if (data.fatal) { say(gettext("The stream stopped. Trying again…")); hls.startLoad(); }
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    }

    // Sound only: the audio rendition when there is one (the picture is no longer downloaded), else
    // the picture is hidden and the sound plays on.
    function applyAudioOnly() {
      var on = audio && audio.getAttribute("aria-pressed") === "true";
      box.classList.toggle("audio-only", on);
      if (!hls || !audioUrl || !window.Hls) { return; }
      var want = on ? audioUrl : url;
      if (current !== want) { load(window.Hls, want); }
    }

    function start() {
      play.disabled = true;
      video.muted = false;
      say(gettext("Loading…"));
      if (!window.MediaSource && video.canPlayType("application/vnd.apple.mpegurl")) {
        video.src = url;
        video.addEventListener("loadedmetadata", ready, {once: true});
        return;
      }
      loadHls(box.dataset.hlsJs).then(function (Hls) {
        if (!Hls.isSupported()) { say(gettext("This browser cannot play the stream.")); return; }
        load(Hls, url);
      }, function () {
        play.disabled = false;
        say(gettext("The player could not be loaded. Check the connection and try again."));
      });
    }

    play.addEventListener("click", start);
    if (audio) {
      audio.addEventListener("click", function () {
        audio.setAttribute("aria-pressed", audio.getAttribute("aria-pressed") === "true" ? "false" : "true");
        applyAudioOnly();
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-hls-player]").forEach(setup);
  });
})();
