// The roll-call screen that keeps working when the hall's network drops.
//
// Every check-in (a person, a whole delegation, a scanned badge) gets a client UUID and is written
// to an IndexedDB queue (through idb) FIRST, then sent. The queue is sent in order through
// POST /api/attendance/checkins/batch/ (at most 500 items a request, all or nothing on the
// server); acknowledged items are removed; the server ignores a client id it has already
// recorded, so a resend after a lost reply never duplicates. A refused item (not invited, other
// session...) is shown with the server's message and dropped, not retried forever. Failures
// retry with backoff and at once when the browser says it is online again.
// The point's expected people are kept in IndexedDB too, so the name search works offline, and a
// service worker (rollcall-sw.js, on workbox) keeps a copy of the page so a reload at the hall still opens it.
// That list holds hundreds of names: it is stored with its owner (the signed-in user) and the time
// it was fetched, and is deleted, not used, once it is older than data-list-max-age-hours or
// belongs to another account. Signing out clears it with everything else of the site
// (the logout response's Clear-Site-Data header); the sign-out button warns when check-ins wait.
(function () {
  "use strict";
  var root = document.getElementById("rollcall");
  if (!root) { return; }
  var SESSION = Number(root.dataset.session), POINT = Number(root.dataset.point);
  var KEY = SESSION + ":" + POINT;
  var USER = Number(root.dataset.user);
  var MAX_AGE = (Number(root.dataset.listMaxAgeHours) || 12) * 3600 * 1000;
  var MAX_BATCH = 500, PAGE = 50, MIN_DELAY = 2000, MAX_DELAY = 60000;
  // Words come from Django's JavaScript catalogue (/jsi18n/, loaded by base.html): gettext,
  // ngettext and interpolate; numbers through Diemcau.number (app.js, Intl in the page's language).
  var num = function (n) { return Diemcau.number(n); };
  var fill = function (text, vars) { return interpolate(text, vars, true); };

  // Search stays on this page: take the form away from htmx before htmx starts (both scripts
  // are deferred; htmx processes the page on DOMContentLoaded, after us).
  var form = document.getElementById("search-form"), input = document.getElementById("q");
  var tbody = document.getElementById("people-rows");
  var hx = {};
  ["hx-get", "hx-target", "hx-trigger"].forEach(function (a) { hx[a] = form.getAttribute(a); form.removeAttribute(a); });

  var people = [], byId = {}, present = {}, pending = {}, refused = {}, delegations = {};
  var db = null, memoryQueue = [], memorySeq = 0;
  var syncing = false, timer = null, delay = MIN_DELAY, nextTry = 0, signinLost = false;

  // --- ids and text ------------------------------------------------------------------------------
  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  // The same folding as core.vntext.fold: no diacritics, đ as d, lower case, single spaces.
  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D")
      .toLowerCase().replace(/\s+/g, " ").trim();
  }
  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrf;
  }

  // --- IndexedDB (through idb: promises instead of request callbacks) ------------------------------
  function openDb() {
    if (!window.indexedDB || !window.idb) { return Promise.resolve(null); }
    return idb.openDB("diemcau-rollcall", 1, {
      upgrade: function (d) {
        d.createObjectStore("queue", {keyPath: "seq", autoIncrement: true});
        d.createObjectStore("people", {keyPath: "key"});
      },
    }).catch(function () { return null; });
  }
  function enqueue(entries) {
    if (!db) {
      entries.forEach(function (e) { e.seq = ++memorySeq; memoryQueue.push(e); });
      return Promise.resolve();
    }
    var tx = db.transaction("queue", "readwrite");
    entries.forEach(function (e) { tx.store.add(e); });
    return tx.done;
  }
  // The oldest `limit` entries (all of them for 0), in the order they were queued.
  function readQueue(limit) {
    if (!db) { return Promise.resolve(limit ? memoryQueue.slice(0, limit) : memoryQueue.slice()); }
    return db.getAll("queue", null, limit || undefined);
  }
  function removeSeqs(seqs) {
    if (!db) {
      memoryQueue = memoryQueue.filter(function (e) { return seqs.indexOf(e.seq) < 0; });
      return Promise.resolve();
    }
    var tx = db.transaction("queue", "readwrite");
    seqs.forEach(function (s) { tx.store.delete(s); });
    return tx.done;
  }
  function saveList(data) {
    if (!db) { return Promise.resolve(); }
    return db.put("people", {key: KEY, data: data, at: Date.now(), user: USER});
  }
  function usable(r) {
    return r.user === USER && typeof r.at === "number" && r.at <= Date.now() && Date.now() - r.at < MAX_AGE;
  }
  // Every kept list that is too old or not this account's is deleted (any point's, not only this one).
  async function dropStaleLists() {
    if (!db) { return 0; }
    var tx = db.transaction("people", "readwrite"), dropped = 0;
    for (var c = await tx.store.openCursor(); c; c = await c.continue()) {
      if (!usable(c.value)) {
        if (c.value.key === KEY) { dropped += 1; }
        c.delete();
      }
    }
    await tx.done;
    return dropped;
  }
  function loadList() {
    if (!db) { return Promise.resolve(null); }
    return db.get("people", KEY).then(function (r) { return r && usable(r) ? r.data : null; });
  }

  // --- the screen ---------------------------------------------------------------------------------
  function useList(data) {
    people = data.people || [];
    byId = {};
    people.forEach(function (p) { byId[p.id] = p; });
    (data.present || []).forEach(function (id) { present[id] = true; });
    delegations = data.delegations || {};
  }
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function tag(cls, text) {
    var s = document.createElement("span");
    s.className = "tag " + cls; s.textContent = text;
    return s;
  }
  function renderRows() {
    if (!root.dataset.ready) { return; }  // no list yet: the server's rows stay
    var terms = fold(input.value).split(" ").filter(Boolean);
    var found = people.filter(function (p) {
      return terms.every(function (t) { return p.folded.indexOf(t) >= 0; });
    });
    var frag = document.createDocumentFragment();
    found.slice(0, PAGE).forEach(function (p) {
      var tr = document.createElement("tr");
      tr.id = "person-" + p.id;
      tr.dataset.person = p.id;
      tr.appendChild(cell(p.name)); tr.appendChild(cell(p.unit)); tr.appendChild(cell(p.category));
      var td = document.createElement("td");
      if (pending[p.id]) {
        tr.className = "pending";
        td.appendChild(tag("warn", gettext("Waiting to sync")));
      } else if (present[p.id]) {
        td.appendChild(tag("ok", gettext("Present")));
      } else {
        var b = document.createElement("button");
        b.type = "button"; b.className = "primary js-checkin"; b.textContent = gettext("Check in");
        b.dataset.person = p.id;
        td.appendChild(b);
      }
      if (refused[p.id]) { td.appendChild(document.createTextNode(" ")); td.appendChild(tag("bad", refused[p.id])); }
      tr.appendChild(td);
      frag.appendChild(tr);
    });
    if (!found.length) {
      var tr = document.createElement("tr"), td = cell(gettext("Nobody found among the people assigned to this point."));
      td.colSpan = 4; td.className = "muted"; tr.appendChild(td); frag.appendChild(tr);
    } else if (found.length > PAGE) {
      var more = document.createElement("tr"), mtd = cell(fill(gettext("Showing the first %(n)s; type more of the name."), {n: num(PAGE)}));
      mtd.colSpan = 4; mtd.className = "muted"; more.appendChild(mtd); frag.appendChild(more);
    }
    tbody.replaceChildren(frag);
  }
  var shown = null;
  function showStatus(forceRows) {
    return readQueue(0).then(function (queue) {
      pending = {};
      queue.forEach(function (e) { if (e.person) { pending[e.person] = true; } });
      // Rows are redrawn only when something changed, so a button is never swapped under a click.
      var now = JSON.stringify([Object.keys(pending), Object.keys(present).length, Object.keys(refused)]);
      if (forceRows || now !== shown) { shown = now; renderRows(); }
      var count = document.getElementById("sync-count"), state = document.getElementById("sync-state");
      count.hidden = !queue.length;
      count.className = "tag warn";
      count.textContent = fill(ngettext("%(n)s check-in waiting to sync", "%(n)s check-ins waiting to sync",
        queue.length), {n: num(queue.length)});
      root.dataset.waiting = String(queue.length);
      if (signinLost) {
        state.textContent = gettext("Your sign-in has expired: sign in again in another tab; the queued check-ins are kept.");
      } else if (!navigator.onLine) {
        state.textContent = gettext("Offline: check-ins are kept on this device and sent when the network returns.");
      } else if (queue.length && nextTry) {
        state.textContent = fill(gettext("Could not reach the server; retrying in %(s)s s."),
          {s: num(Math.max(1, Math.round((nextTry - Date.now()) / 1000)))});
      } else if (!queue.length) {
        state.textContent = gettext("All check-ins are synced.") + (people.length ? " " + fill(ngettext(
          "%(n)s person of this point is kept on this device for offline search.",
          "%(n)s people of this point are kept on this device for offline search.", people.length),
          {n: num(people.length)}) : "");
      } else {
        state.textContent = "";
      }
    });
  }
  function note(text, cls) {
    var li = document.createElement("li");
    li.className = "msg " + (cls || "error");
    li.textContent = text;
    document.getElementById("sync-refused").prepend(li);
  }
  function scanLog(text) {
    var li = document.createElement("li");
    li.textContent = text;
    var log = document.getElementById("scan-log");
    log.prepend(li);
    while (log.children.length > 8) { log.removeChild(log.lastChild); }
  }

  // --- queueing -----------------------------------------------------------------------------------
  function entry(fields, label) {
    var item = {client_id: uuid4(), session_id: SESSION, point_id: POINT, scanned_at: new Date().toISOString(),
      device: "rollcall"};
    Object.keys(fields).forEach(function (k) { item[k] = fields[k]; });
    return {item: item, person: fields.person_id || null, label: label, queued_at: Date.now()};
  }
  function queue(entries) {
    return enqueue(entries).then(function () {
      entries.forEach(function (e) { if (e.person) { pending[e.person] = true; delete refused[e.person]; } });
      return showStatus();
    }).then(function () { syncSoon(0); });
  }
  function checkInPerson(id) {
    var p = byId[id];
    return queue([entry({method: "roll_call", person_id: id}, p ? p.name : String(id))]);
  }
  function checkInDelegation(institution, unit) {
    var ids = (delegations[institution] || []).filter(function (id) { return !present[id] && !pending[id]; });
    if (!(delegations[institution] || []).length) { note(fill(gettext("%(unit)s has not named its delegation."), {unit: unit})); return Promise.resolve(); }
    note(fill(ngettext("%(unit)s: %(n)s person queued for check-in.",
      "%(unit)s: %(n)s people queued for check-in.", ids.length), {unit: unit, n: num(ids.length)}), "success");
    return queue(ids.map(function (id) {
      return entry({method: "roll_call", person_id: id}, byId[id] ? byId[id].name : String(id));
    }));
  }
  function checkInBadge(token) {
    token = (token || "").trim();
    if (!token) { return Promise.resolve(); }
    if (/^https?:\/\//.test(token)) { scanLog(gettext("This QR code belongs to the bridge point (participants scan it with their phones); " +
      "it is not a personal badge.")); return Promise.resolve(); }
    scanLog(gettext("Scanned: waiting to sync."));
    return queue([entry({method: "qr_scan", badge: token}, "QR")]);
  }

  // --- syncing ------------------------------------------------------------------------------------
  function syncSoon(ms) {
    if (timer) { clearTimeout(timer); }
    nextTry = ms ? Date.now() + ms : 0;
    timer = setTimeout(function () { timer = null; sync(); }, ms);
  }
  function acknowledge(batch, results) {
    results.forEach(function (r) {
      if (r.person_id) { present[r.person_id] = true; }
    });
    batch.forEach(function (e) {
      if (e.item.badge) {
        var r = results.filter(function (x) { return x.client_id === e.item.client_id; })[0];
        var who = r && r.person_id && byId[r.person_id] ? byId[r.person_id].name : "";
        scanLog(fill(gettext("Checked in: %(name)s"), {name: who}));
      }
    });
    return removeSeqs(batch.map(function (e) { return e.seq; }));
  }
  function dropRefused(batch, details) {
    var drop = [];
    details.forEach(function (d) {
      var e = batch[d.index];
      if (!e) { return; }
      drop.push(e.seq);
      if (e.person) { refused[e.person] = d.message; }
      var text = d.message.indexOf(e.label) >= 0 ? d.message : e.label + ": " + d.message;
      note(gettext("Not recorded") + " · " + text);
      if (e.item.badge) { scanLog(gettext("Not recorded") + ": " + d.message); }
    });
    return drop;
  }
  function malformedIndexes(details) {
    var out = [];
    (details || []).forEach(function (d) {
      var loc = d.loc || [], i = loc.indexOf("items");
      if (i >= 0 && typeof loc[i + 1] === "number" && out.indexOf(loc[i + 1]) < 0) { out.push(loc[i + 1]); }
    });
    return out;
  }
  // A device token of this point (points.devices), kept on this device: the queue syncs with it, with no
  // session or CSRF token, so it still syncs after the sign-in expired. A refused token is forgotten.
  var DEVICE_KEY = "diemcau.device-token." + root.dataset.point;
  function deviceToken() {
    try { return window.localStorage.getItem(DEVICE_KEY) || ""; } catch (e) { return ""; }
  }
  function keepDeviceToken(value) {
    try {
      if (value) { window.localStorage.setItem(DEVICE_KEY, value); } else { window.localStorage.removeItem(DEVICE_KEY); }
    } catch (e) { /* private mode: the session is used */ }
    showDeviceToken();
  }
  function showDeviceToken() {
    var state = document.getElementById("device-token-state");
    if (state) {
      state.textContent = deviceToken() ? gettext("This device sends its check-ins with its device token.")
        : gettext("No device token on this device: check-ins are sent with your sign-in.");
    }
  }
  function send(batch) {
    var token = deviceToken(), headers = {"Content-Type": "application/json", "Accept": "application/json"};
    if (token) { headers.Authorization = "Bearer " + token; } else { headers["X-CSRFToken"] = csrfToken(); }
    return fetch(root.dataset.batchUrl, {
      method: "POST", credentials: token ? "omit" : "same-origin", cache: "no-store", headers: headers,
      body: JSON.stringify({items: batch.map(function (e) { return e.item; })}),
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) { return {status: res.status, body: body}; });
    });
  }
  function sync() {
    if (syncing) { return Promise.resolve(); }
    if (navigator.onLine === false) {  // surely offline: wait for the "online" event (and poll now and then)
      syncSoon(MAX_DELAY / 4);
      return showStatus();
    }
    syncing = true;
    var synced = false;
    function round() {
      return readQueue(MAX_BATCH).then(function (batch) {
        if (!batch.length) { return null; }
        return send(batch).then(function (r) {
          if (r.status === 200) {
            synced = true; signinLost = false;
            return acknowledge(batch, r.body.results || []).then(round);
          }
          if (r.status === 400 && r.body.code === "batch_refused") {
            return removeSeqs(dropRefused(batch, r.body.details || [])).then(round);
          }
          if (r.status === 422) {
            var bad = malformedIndexes(r.body.details);
            if (bad.length) {
              return removeSeqs(dropRefused(batch, bad.map(function (i) {
                return {index: i, message: r.body.message || "invalid"};
              }))).then(round);
            }
          }
          if (r.status === 401 && r.body.code === "device_token_refused") {
            keepDeviceToken("");  // expired or revoked: back to the sign-in, at once
            return round();
          }
          if (r.status === 401 || r.status === 403) { signinLost = true; }
          throw new Error("HTTP " + r.status);
        });
      });
    }
    return round().then(function () {
      delay = MIN_DELAY; nextTry = 0;
    }, function () {
      // Offline, a lost reply, a server error or an expired sign-in: keep everything and retry.
      syncSoon(delay + Math.round(Math.random() * 500));
      delay = Math.min(delay * 2, MAX_DELAY);
    }).then(function () {
      syncing = false;
      if (synced && window.htmx) { htmx.trigger(document.body, "checked-in"); }  // the counts line reloads
      return showStatus();
    });
  }

  // --- camera -------------------------------------------------------------------------------------
  var stream = null, lastCode = "", lastAt = 0;
  function openCamera() {
    var panel = document.getElementById("scan-panel");
    panel.hidden = false;
    document.getElementById("scan-text").focus();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.jsQR) {
      scanLog(fill(gettext("The camera cannot be opened: %(err)s"), {err: "getUserMedia"}));
      return;
    }
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (s) {
      stream = s;
      var video = document.getElementById("scan-video");
      video.srcObject = s;
      video.play();
      tick();
    }, function (err) { scanLog(fill(gettext("The camera cannot be opened: %(err)s"), {err: err.name || err})); });
  }
  function closeCamera() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    document.getElementById("scan-panel").hidden = true;
  }
  function tick() {
    if (!stream) { return; }
    var video = document.getElementById("scan-video"), canvas = document.getElementById("scan-canvas");
    if (video.readyState >= 2 && video.videoWidth) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      var ctx = canvas.getContext("2d", {willReadFrequently: true});
      ctx.drawImage(video, 0, 0);
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var code = jsQR(img.data, img.width, img.height, {inversionAttempts: "dontInvert"});
      // The same badge held in front of the camera is one check-in, not one per frame.
      if (code && code.data && (code.data !== lastCode || Date.now() - lastAt > 5000)) {
        lastCode = code.data; lastAt = Date.now();
        checkInBadge(code.data);
      }
    }
    setTimeout(function () { requestAnimationFrame(tick); }, 150);
  }

  // --- wiring -------------------------------------------------------------------------------------
  form.addEventListener("submit", function (ev) { ev.preventDefault(); renderRows(); });
  input.addEventListener("input", renderRows);
  tbody.addEventListener("click", function (ev) {
    var b = ev.target.closest(".js-checkin");
    if (b) { ev.preventDefault(); b.disabled = true; checkInPerson(Number(b.dataset.person)); }
  });
  document.querySelectorAll("form.js-delegation").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      checkInDelegation(f.dataset.institution, f.dataset.unit);
    });
  });
  var scanOpen = document.getElementById("scan-open");
  scanOpen.hidden = false;
  scanOpen.addEventListener("click", openCamera);
  document.getElementById("scan-close").addEventListener("click", closeCamera);
  document.getElementById("scan-manual").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var field = document.getElementById("scan-text");
    checkInBadge(field.value);
    field.value = "";
  });
  // Signing out clears this device's copy of the site, the queue included: say so when it is not empty.
  document.querySelectorAll("form[action$='/logout/']").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      var waiting = Number(root.dataset.waiting || 0);
      if (waiting && !window.confirm(fill(ngettext(
        "%(n)s check-in has not been synced yet. Signing out deletes it from this device. Sign out anyway?",
        "%(n)s check-ins have not been synced yet. Signing out deletes them from this device. Sign out anyway?",
        waiting), {n: num(waiting)}))) { ev.preventDefault(); }
    });
  });
  var deviceForm = document.getElementById("device-token-form");
  if (deviceForm) {
    deviceForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var field = document.getElementById("device-token-input");
      keepDeviceToken(field.value.trim());
      field.value = "";
      syncSoon(0);
    });
    document.getElementById("device-token-forget").addEventListener("click", function () { keepDeviceToken(""); });
    showDeviceToken();
  }
  window.addEventListener("online", function () { delay = MIN_DELAY; syncSoon(0); });
  window.addEventListener("offline", showStatus);
  setInterval(showStatus, 1000);  // the retry countdown

  // A reload while offline still opens this page (from the service worker's cache).
  if ("serviceWorker" in navigator && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, {scope: "/attendance/"}).catch(function () {});
  }
  openDb().then(function (d) {
    db = d;
    if (!db) { note(gettext("This browser cannot keep an offline queue (IndexedDB); check-ins are sent directly."), "warning"); }
    return dropStaleLists().then(function (dropped) {
      if (dropped) { note(gettext("The copy of the people list kept on this device was too old or belonged to another " +
      "account; it has been deleted. The name search works again when the network returns."), "warning"); }
      return fetch(root.dataset.dataUrl, {credentials: "same-origin", cache: "no-store"});
    })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) { return saveList(data).then(function () { return data; }); })
      .catch(function () { return loadList(); });
  }).then(function (data) {
    if (data) {
      useList(data);
      root.dataset.ready = "1";
    } else {  // neither the server nor this device has the list: search on the server, as before
      Object.keys(hx).forEach(function (a) { form.setAttribute(a, hx[a]); });
      if (window.htmx) { htmx.process(form); }
    }
    return showStatus(true);
  }).then(function () { syncSoon(0); });
})();
