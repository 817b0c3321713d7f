"""The live conference end to end: real Janus (root + edge), the runtime, Daphne, headless Chromium.

The studio publishes (fake camera, 480x270) as its credential's random id; three kiosks watch the
programme (Hà Nội on the root, Ba Vì and a Ba Vì school behind the edge at Ba Vì); Hà Nội asks for the
floor and the director grants it; Hà Nội's kiosk then publishes as the grant's id and the others
decode Hà Nội's 320x240 picture; the board shows the four points with
figures; the director's wall shows each kiosk's thumbnail (a JPEG of its fake camera posted every
10 s); the root is killed and restarted and every kiosk decodes frames again within 10 s.
"""

import asyncio
import threading
import time

import pytest

from diemcau.live.janus_node import JanusNode
from diemcau.live.runtime import LiveRuntime, NodeSpec
from tests.e2e.conftest import login, shot
from tests.live.conftest import live_base_port, live_world  # noqa: F401 - the fixture
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_media(live_world, tmp_path):  # noqa: F811 - the imported fixture
    """Root and edge nodes on free ports and the runtime in a thread; all stopped afterwards."""
    root_port = live_base_port()
    edge_port = live_base_port({root_port})
    root = JanusNode("root", root_port, folder=tmp_path / "root")
    edge = JanusNode("edge-1", edge_port, folder=tmp_path / "edge")
    root.start()
    edge.start()
    runtime = LiveRuntime(live_world["conference"].pk,
                          [NodeSpec("root", root_port, role="root"),
                           NodeSpec("edge-1", edge_port, point_id=live_world["bavi"].pk)],
                          nodes={"root": root, "edge-1": edge}, synthetic_host=False, hls_dir=tmp_path / "hls")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(runtime.run()), daemon=True)
    thread.start()
    wait_for(lambda: runtime.root.up and all(n.up for n in runtime.nodes), 20, "nodes provisioned")
    yield {"root": root, "edge": edge, "runtime": runtime, "world": live_world}
    loop.call_soon_threadsafe(runtime.stop)
    thread.join(15)
    root.stop()
    edge.stop()


def _page(browser, base_url, user):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1024, "height": 640})
    context.set_default_timeout(40000)
    page = context.new_page()
    page.base_url = base_url
    page.logs = []
    page.on("console", lambda m: page.logs.append(f"{time.monotonic():.1f} {m.type}: {m.text}"[:300]))
    login(page, user.username)
    return page


def _probe(segment) -> dict:
    """The video stream of an HLS segment as ffprobe reads it ({} if it does not play)."""
    import json
    import subprocess

    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,width,height", "-of", "json", str(segment)],
                         capture_output=True, text=True, timeout=20)
    streams = json.loads(out.stdout or "{}").get("streams") or [{}]
    return streams[0] if streams[0].get("codec_name") == "h264" else {}


def _frames(page):
    return page.evaluate("() => window.kioskFigures ? window.kioskFigures.main.frames_decoded : 0")


def _decoding(page, seconds=2.0):
    """Frames decoded go up over ``seconds``."""
    before = _frames(page)
    time.sleep(seconds)
    return _frames(page) > before


QUESTION = "Đề nghị Bộ sớm ban hành hướng dẫn giảm hồ sơ sổ sách cho giáo viên"


def test_programme_floor_board_and_recovery(browser, asgi_server, live_media, person_factory):
    url, w = asgi_server.url, live_media["world"]
    studio = _page(browser, url, w["director"])
    studio.goto(f"{url}/live/conference/{w['conference'].pk}/studio/", wait_until="domcontentloaded")
    studio.click("#go-camera")
    wait_for(lambda: studio.evaluate("() => window.studioState.publishing"), 20, "studio publishing")

    from diemcau.live import thumbs

    for key in ("host", "hanoi", "bavi", "school", "socson"):  # no picture left over from an earlier run
        thumbs.path_for(w[key].pk).unlink(missing_ok=True)
    kiosks = {}
    for key in ("hanoi", "bavi", "school"):
        page = _page(browser, url, w["ops"][key])
        page.goto(f"{url}/live/points/{w[key].pk}/kiosk/", wait_until="domcontentloaded")
        kiosks[key] = page
    for key, page in kiosks.items():
        wait_for(lambda p=page: _frames(p) > 20, 30, f"{key} decoding the programme")
    widths = {k: p.evaluate("() => window.kioskFigures.main.width") for k, p in kiosks.items()}
    assert widths == {"hanoi": 480, "bavi": 480, "school": 480}, widths
    shot(kiosks["bavi"], "live-kiosk")

    # Hà Nội asks for the floor (its kiosk publishes nothing while it waits); the director grants it.
    kiosks["hanoi"].fill("#floor-who", "Nguyễn Thị Thu Hà, Giám đốc Sở")
    kiosks["hanoi"].click("#floor-ask")
    kiosks["hanoi"].wait_for_selector("#floor-state.requested")
    time.sleep(1.5)
    assert kiosks["hanoi"].evaluate("() => !window.kioskState.pubJanus && window.kioskFigures.pub.bytes_out === 0")
    console = _page(browser, url, w["director"])
    console.goto(f"{url}/live/conference/{w['conference'].pk}/director/", wait_until="domcontentloaded")
    console.wait_for_selector(f"#queue li[data-point='{w['hanoi'].pk}'] [data-act=grant]")
    granted_at = time.monotonic()
    console.click(f"#queue li[data-point='{w['hanoi'].pk}'] [data-act=grant]")
    try:
        wait_for(lambda: kiosks["hanoi"].evaluate("() => window.kioskFigures && window.kioskFigures.pub.bytes_out > 0"),
                 20, "Hà Nội publishing as its grant's id")
    except AssertionError:
        runtime = live_media["runtime"]
        print("granted", runtime._granted, "allowed", runtime._allowed, "kicked", runtime.kicked,
              "publishers", runtime._publishers_cache, "state", kiosks["hanoi"].evaluate(
                  "() => JSON.stringify({pubId: window.kioskState.pubId, floor: window.kioskState.floor})"))
        print("\n".join(kiosks["hanoi"].logs[-30:]))
        raise
    from diemcau.live.models import FloorRequest

    grant = FloorRequest.objects.get(point=w["hanoi"], state="granted")
    assert kiosks["hanoi"].evaluate("() => window.kioskState.pubId") == grant.publisher_id
    for key in ("bavi", "school"):
        wait_for(lambda p=kiosks[key]: p.evaluate("() => window.kioskFigures.main.width") == 320, 15,
                 f"{key} receiving Hà Nội's picture")
    switch_s = time.monotonic() - granted_at
    for key in ("bavi", "school"):
        assert _decoding(kiosks[key]), key
    kiosks["bavi"].wait_for_function("() => document.getElementById('on-air-who').textContent.includes('Hà Nội')")

    # HLS for mass viewers follows the programme: after the switch, new segments of Hà Nội's
    # picture (H.264 copied, 320 wide) appear in the playlist and play.
    hls = live_media["runtime"].hls
    wait_for(lambda: any(_probe(seg).get("width") == 320 for seg in hls.segments()[-3:]), 30,
             "an HLS segment of the new source")

    shot(kiosks["bavi"], "live-kiosk-floor")
    console.wait_for_selector("#queue li.granted .timer")
    shot(console, "live-director")

    # The wall: every kiosk's thumbnail (its own camera, opened muted at start) has loaded.
    for key in ("hanoi", "bavi", "school"):
        console.wait_for_function(
            """id => { const i = document.querySelector(`#wall .tile[data-point='${id}'] img`);
                       return i && i.complete && i.naturalWidth > 0 && i.dataset.ok === '1'; }""",
            arg=w[key].pk, timeout=25000)
    assert console.locator(f"#wall .tile[data-point='{w['socson'].pk}'] .pic.none").count() == 1
    shot(console, "live-director-wall")

    board = _page(browser, url, w["director"])
    board.goto(f"{url}/live/conference/{w['conference'].pk}/board/", wait_until="domcontentloaded")

    def board_ready():  # the rows are server-rendered and pushed (htmx's ws extension swaps them)
        wanted = [w[k].pk for k in ("host", "hanoi", "bavi", "school")]
        return board.evaluate("""(ids) => ids.every((id) => {
            const tr = document.querySelector(`#board-rows tr[data-point='${id}']`);
            return tr && ["receiving", "publishing", "floor"].includes(tr.dataset.state) && tr.dataset.figures === "1";
        })""", wanted)
    wait_for(board_ready, 20, "the board showing four live points with figures")
    assert board.locator(f"tr[data-point='{w['hanoi'].pk}'][data-state='floor']").count() == 1
    shot(board, "live-board")

    # The director puts a teacher's question on screen (voice): every kiosk shows it, pushed, no reload.
    from diemcau.orgs.scoping import SYSTEM
    from diemcau.voice import moderation, opinions

    asker = person_factory(w["tree"]["school_a"], name="Phạm Thị Mai")
    question = moderation.approve(SYSTEM, opinions.submit(asker, w["conference"], QUESTION, kind="question"))
    console.goto(f"{url}/voice/{w['conference'].pk}/director/", wait_until="domcontentloaded")
    console.click(f"#cand-{question.pk} button[type=submit]")
    for key in ("hanoi", "bavi", "school"):
        kiosks[key].wait_for_function(
            "t => (document.getElementById('on-air') || {}).textContent?.includes(t)", arg=QUESTION[:30], timeout=10000)
    shot(kiosks["school"], "live-kiosk-question")

    # The root dies: the board shows it; after the restart everything comes back within 10 s.
    live_media["root"].kill()
    board.wait_for_selector("[data-node='root'][data-state='down']", timeout=10000)
    shot(board, "live-board-outage")
    live_media["root"].restart()
    restarted = time.monotonic()
    back = {}  # kiosk -> seconds after the restart when its frame count was first seen going up
    last = {key: _frames(page) for key, page in kiosks.items()}
    while len(back) < len(kiosks) and time.monotonic() - restarted < 20:
        time.sleep(0.25)
        for key, page in kiosks.items():
            frames = _frames(page)
            if key not in back and 0 < last[key] < frames:
                back[key] = time.monotonic() - restarted
            last[key] = frames
    if len(back) < len(kiosks):
        runtime = live_media["runtime"]
        print("slots", runtime.slots, "publishers", runtime._publishers_cache, "back", back)
        for key, page in [*kiosks.items(), ("studio", studio)]:
            print("==", key, page.evaluate("() => JSON.stringify(window.kioskFigures || window.studioState)"))
            print("\n".join(page.logs[-15:]))
    assert set(back) == set(kiosks), back
    recovered_s = max(back.values())
    board.wait_for_selector("[data-node='root'][data-state='up']", timeout=5000)
    print(f"LIVE figures: switch_s={switch_s:.2f} recovered_s={recovered_s:.2f} per kiosk {back}")
    assert recovered_s < 10

    # The technical check from Ba Vì's kiosk: devices, the tone confirmed, bandwidth and RTT measured, stored.
    from diemcau.live.models import TechnicalCheck

    check = kiosks["bavi"]
    check.goto(f"{url}/live/points/{w['bavi'].pk}/check/", wait_until="domcontentloaded")
    check.wait_for_selector("#c-save:not([disabled])", timeout=30000)
    check.check("#c-heard")
    check.click("#c-save")
    check.wait_for_function("() => document.getElementById('c-result').textContent.length > 0")
    shot(check, "live-check")
    stored = TechnicalCheck.objects.get(point=w["bavi"])
    assert stored.camera_ok and stored.speakers_ok and stored.bandwidth_kbps > 0 and stored.rtt_ms is not None
    assert stored.passed == (stored.microphone_ok and stored.bandwidth_kbps >= 64 and stored.rtt_ms <= 300)



# --- the broadcast's trust: squatting the root's room from a kiosk page ----------------------------------
# Runs janus.js in a kiosk page, with the page's own kiosk token, against the root: joins the room as
# ``id`` and publishes a 400x300 camera (no real source is 400 wide). Resolves with how it ended:
# "refused <code>" (the join was refused), "kicked"/"hangup" (thrown out) or "still-there" after 5 s.
SQUAT = """async ({id, width}) => {
  const L = window.DiemcauLive, cfg = JSON.parse(document.getElementById("live-config").textContent);
  cfg.token = window.liveToken || cfg.token;  // renewed since the page loaded
  const media = await navigator.mediaDevices.getUserMedia(
    { audio: false, video: { width: width, height: width * 3 / 4 } });
  await L.initJanus();
  return await new Promise((resolve) => {
    const t0 = performance.now(), out = { id: id };
    let janus = null, handle = null, finished = false;
    const done = (why) => {
      if (finished) return; finished = true;
      out.result = why; out.after_ms = Math.round(performance.now() - (out.joined_at || t0));
      resolve(out); setTimeout(() => { try { janus.destroy(); } catch (e) {} }, 0);
    };
    janus = new Janus({ server: cfg.root_url, token: cfg.token, error: (e) => done("session-error " + e),
                        success: () => {
      janus.attach({ plugin: "janus.plugin.videoroom", error: (e) => done("attach-error " + e),
        success: (h) => { handle = h; h.send({ message: { request: "join", ptype: "publisher", room: cfg.room,
                                                            id: id, display: "mạo danh", token: cfg.token } }); },
        onmessage: (msg, jsep) => {
          if (msg.error_code) { done("refused " + msg.error_code); return; }
          if (msg.videoroom === "joined") {
            out.joined_at = performance.now();
            handle.createOffer({ tracks: [{ type: "video", capture: media.getVideoTracks()[0], recv: false }],
              success: (offer) => handle.send({ message: { request: "configure", video: true }, jsep: offer }),
              error: (e) => done("offer-error " + e) });
          }
          if (msg.leaving === "ok" || msg.reason === "kicked") done("kicked");
          if (jsep) handle.handleRemoteJsep({ jsep: jsep });
        },
        webrtcState: (up) => {
          if (!up) { done("hangup"); return; }
          out.media_up_ms = Math.round(performance.now() - t0);
          // Keyframes, as a real kiosk asks for them, so the picture would show at once if forwarded.
          const ask = setInterval(() => { if (finished) clearInterval(ask);
            else handle.send({ message: { request: "configure", keyframe: true } }); }, 200);
        },
        oncleanup: () => done("hangup") });
    } });
    setTimeout(() => done("still-there"), 5000);
  });
}"""


# From the squatter's "joined" to its "kicked", as the page sees them. On an idle machine 19–670 ms
# (the guard looks every 0.1 s); with the whole live suite and other test runs on 2 shared cores,
# 1.1–1.9 s was seen (the page's own event delivery included), hence the margin. Never forwarded
# either way: that is asserted separately below.
KICKED_WITHIN_MS = 2000


@pytest.fixture
def short_tokens(monkeypatch):
    """Tokens of 15 s renewed after 10 s, the old one working 3 s more (read by the ASGI child)."""
    monkeypatch.setenv("DIEMCAU_LIVE_TOKEN_MINUTES", "0.25")
    monkeypatch.setenv("DIEMCAU_LIVE_TOKEN_GRACE_SECONDS", "3")


@pytest.fixture
def root_on_air(live_world, tmp_path):  # noqa: F811 - the imported fixture
    """The root alone, the runtime with its synthetic host (640x360) on air; all stopped afterwards."""
    port = live_base_port()
    root = JanusNode("root", port, folder=tmp_path / "root")
    root.start()
    runtime = LiveRuntime(live_world["conference"].pk, [NodeSpec("root", port, role="root")],
                          nodes={"root": root}, synthetic_host=True, feed_size=(640, 360))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(runtime.run()), daemon=True)
    thread.start()
    wait_for(lambda: runtime.root.up, 20, "root provisioned")
    yield {"root": root, "runtime": runtime, "world": live_world}
    loop.call_soon_threadsafe(runtime.stop)
    thread.join(15)
    root.stop()


def _widths(page) -> tuple[int, int]:
    return tuple(page.evaluate("() => window.kioskFigures ? [window.kioskFigures.main.width,"
                               " window.kioskFigures.side.width] : [0, 0]"))


def test_kiosk_cannot_squat_the_studio_or_another_points_id(short_tokens, browser, asgi_server, root_on_air):
    from diemcau.live import floor, nodes
    from diemcau.live.janus_client import JanusAdmin
    from diemcau.live.models import FloorRequest
    from diemcau.orgs.scoping import SYSTEM

    url, w, runtime = asgi_server.url, root_on_air["world"], root_on_air["runtime"]
    viewer = _page(browser, url, w["ops"]["bavi"])
    viewer.goto(f"{url}/live/points/{w['bavi'].pk}/kiosk/", wait_until="domcontentloaded")
    wait_for(lambda: _frames(viewer) > 20 and _widths(viewer)[0] == 640, 30, "Ba Vì decoding the synthetic host")
    # Sóc Sơn asks for the floor and gets it, host and point side by side; its kiosk is not open yet.
    request = floor.request_floor(w["ops"]["socson"], w["socson"], "Trần Văn Sơn")
    floor.grant_floor(SYSTEM, request, source="both")
    request.refresh_from_db()

    # Every picture width the viewer shows, main and side, sampled every 50 ms while the attacks run.
    viewer.evaluate("""() => { window.seenWidths = new Set(); setInterval(() => {
        for (const id of ["main", "side"]) window.seenWidths.add(document.getElementById(id).videoWidth); }, 50); }""")
    # 1) Hà Nội's kiosk (no floor) as the old studio id, as Sóc Sơn's old fixed id, and as Sóc Sơn's grant.
    attacker = _page(browser, url, w["ops"]["hanoi"])
    attacker.goto(f"{url}/live/points/{w['hanoi'].pk}/kiosk/", wait_until="domcontentloaded")
    results = []
    granted_id = getattr(request, "publisher_id", None) or 1_000_000 + w["socson"].pk  # (before: the fixed id)
    for pub_id in (1, 1_000_000 + w["socson"].pk, granted_id):
        results.append(attacker.evaluate(SQUAT, {"id": pub_id, "width": 400}))
    # 2) Sóc Sơn's own kiosk (it has the floor, so its token may join) as the studio's old id.
    owner = _page(browser, url, w["ops"]["socson"])
    owner.goto(f"{url}/live/points/{w['socson'].pk}/kiosk/", wait_until="domcontentloaded")
    try:
        wait_for(lambda: owner.evaluate("() => window.kioskFigures && window.kioskFigures.pub.bytes_out > 0"), 20,
                 "Sóc Sơn publishing as its grant's id")
    except AssertionError:
        print("granted", runtime._granted, "kicked", runtime.kicked, "publishers", runtime._publishers_cache)
        print("\n".join(owner.logs[-30:]))
        raise
    wait_for(lambda: _widths(viewer) == (640, 320), 15, "the viewer decoding host and Sóc Sơn side by side")
    results.append(owner.evaluate(SQUAT, {"id": 1, "width": 400}))
    results.append(owner.evaluate(SQUAT, {"id": 1_000_000 + w["hanoi"].pk, "width": 400}))
    time.sleep(2)
    seen = set(viewer.evaluate("() => [...window.seenWidths]"))
    forwarded = {pub for slot in runtime.slots.values() for pub, _ in slot.forwarders}
    print("SQUAT results", results, "widths seen", seen, "kicked", getattr(runtime, "kicked", None))
    for r in results:
        refused = r["result"].startswith("refused")
        thrown_out = r["result"] in ("kicked", "hangup") and r["after_ms"] < KICKED_WITHIN_MS
        assert refused or thrown_out, results
    assert any(r["result"].startswith("refused") for r in results[:3])  # not in the room's allowed list
    assert 400 not in seen, seen  # the viewer only ever decoded the real sources
    assert seen <= {0, 640, 320}, seen  # nothing, the synthetic host, Sóc Sơn's camera
    assert forwarded <= {granted_id}, forwarded
    if not _decoding(viewer):
        print("slots", runtime.slots, "figures", viewer.evaluate("() => JSON.stringify(window.kioskFigures)"))
        print("\n".join(viewer.logs[-30:]))
        raise AssertionError("the viewer stopped decoding")
    # What people see: the floor's kiosk on air (its own picture shown), a waiting kiosk (nothing sent).
    attacker.fill("#floor-who", "Nguyễn Thị Thu Hà, Giám đốc Sở")
    attacker.click("#floor-ask")
    attacker.wait_for_selector("#floor-state.requested")
    for page, name in ((owner, "live-kiosk-granted"), (attacker, "live-kiosk-requested")):
        for size, tag in (({"width": 1280, "height": 860}, "desktop"), ({"width": 390, "height": 844}, "phone")):
            page.set_viewport_size(size)
            time.sleep(0.5)
            shot(page, f"{name}-{tag}")

    # The tokens renew themselves (15 s here): the old ones leave Janus, the open sessions stay.
    first = viewer.evaluate("() => JSON.parse(document.getElementById('live-config').textContent).token")
    wait_for(lambda: viewer.evaluate("() => window.liveTokenRenewals || 0") >= 2, 40, "two renewals")

    async def tokens():
        async with JanusAdmin(root_on_air["root"].admin_url, root_on_air["root"].admin_secret) as admin:
            return set(await admin.list_tokens())
    wait_for(lambda: first not in nodes.run_janus(tokens), 10, "the first token gone from Janus")
    answer = viewer.evaluate("""() => new Promise((ok) => window.kioskState.handles.main.send({
        message: { request: "list" }, success: (r) => ok(r.streaming || "no answer"),
        error: (e) => ok("error " + e) }))""")
    assert answer == "list", answer  # the open session speaks with the renewed token
    assert _decoding(viewer)
    assert FloorRequest.objects.get(pk=request.pk).state == "granted"
