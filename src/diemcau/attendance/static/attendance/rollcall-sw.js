// The roll-call screen's service worker: the page and its static files come from a cache when the
// network is down, so a reload at the hall still opens the screen (its queue and people list are
// in IndexedDB). Network first: online, the server's answer is used and the copy refreshed.
// Served at /attendance/rollcall-sw.js (scope /attendance/) by views_checkin.service_worker.
"use strict";
var CACHE = "diemcau-rollcall-v1";
var PAGE = /^\/attendance\/sessions\/\d+\/points\/\d+\/roll-call\/$/;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (event) {
  var req = event.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) { return; }
  var page = PAGE.test(url.pathname);
  if (!page && url.pathname.indexOf("/static/") !== 0) { return; }
  event.respondWith(fetch(req).then(function (res) {
    // Only the page itself, never a redirect to the sign-in page, is kept.
    if (res.ok && !res.redirected) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { return c.put(page ? url.pathname : req, copy); });
    }
    return res;
  }, function () {
    return caches.match(page ? url.pathname : req).then(function (hit) { return hit || Response.error(); });
  }));
});
