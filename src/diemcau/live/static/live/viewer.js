/* A person watching alone: the programme from the least loaded node, reconnecting by itself. */
(function () {
  "use strict";
  const L = window.DiemcauLive;
  const cfg = JSON.parse(document.getElementById("live-config").textContent);
  const handles = {};
  window.viewerHandles = handles;
  if (!cfg.token) return;
  const conn = new L.LiveJanus(cfg.watch_url, cfg.token, (janus) => {
    L.watchMount(janus, cfg.main, document.getElementById("v-main"), { onHandle: (h) => { handles.main = h; } });
    L.watchMount(janus, cfg.side, document.getElementById("v-side"), { onHandle: (h) => { handles.side = h; } });
  });
  conn.setIce(cfg.ice_servers);  // TURN for viewers behind NAT (credentials that end with the token)
  conn.start();
  L.keepTokenFresh(cfg, (token) => { conn.setToken(token); conn.setIce(cfg.ice_servers); });  // renewed while watching
})();
