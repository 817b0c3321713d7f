// The roll-call screen's service worker: the page, its static files and its translations (/jsi18n/)
// come from a cache when the network is down, so a reload at the hall still opens the screen (its
// queue and people list are in IndexedDB). Network first: online, the server's answer is used and
// the copy refreshed. Workbox does the routing and the strategy; its builds are vendored under
// /static/attendance/vendor/workbox/ (no workbox-sw loader: that one fetches modules from a CDN).
// Served at /attendance/rollcall-sw.js (scope /attendance/) by views_checkin.service_worker.
/* global workbox */
"use strict";
importScripts(
  "/static/attendance/vendor/workbox/workbox-core.prod.js",
  "/static/attendance/vendor/workbox/workbox-routing.prod.js",
  "/static/attendance/vendor/workbox/workbox-strategies.prod.js"
);

var CACHE = "diemcau-rollcall-v1";
var PAGE = /^\/attendance\/sessions\/\d+\/points\/\d+\/roll-call\/$/;

// Only a real answer is kept: never an error page, nor a redirect to the sign-in page.
var onlyTheAnswer = {
  cacheWillUpdate: function (args) {
    var res = args.response;
    return Promise.resolve(res && res.ok && !res.redirected ? res : null);
  },
};
// The page is kept under its path alone: any query string (?q=...) opens the same copy.
var pageByPath = {
  cacheKeyWillBeUsed: function (args) {
    return Promise.resolve(new URL(args.request.url).pathname);
  },
};

self.addEventListener("install", function () { self.skipWaiting(); });
workbox.core.clientsClaim();

var sameOrigin = function (url) { return url.origin === self.location.origin; };
workbox.routing.registerRoute(
  function (ctx) { return sameOrigin(ctx.url) && PAGE.test(ctx.url.pathname); },
  new workbox.strategies.NetworkFirst({cacheName: CACHE, plugins: [onlyTheAnswer, pageByPath]})
);
workbox.routing.registerRoute(
  function (ctx) {
    return sameOrigin(ctx.url) && (ctx.url.pathname.indexOf("/static/") === 0 || ctx.url.pathname === "/jsi18n/");
  },
  new workbox.strategies.NetworkFirst({cacheName: CACHE, plugins: [onlyTheAnswer]})
);
