"""A kiosk's reception mode in a real browser: the operator forces audio only and the hall hears the
programme (the audio-only rendition from the root's encoder); the site board shows the point's mode;
forced to HLS, the kiosk plays the programme's signed playlist with hls.js."""

import asyncio
import shutil
import threading
import time

import pytest

from diemcau.core.models import AuditEntry
from diemcau.live import hls as live_hls
from diemcau.live.janus_node import JanusNode
from diemcau.live.runtime import LiveRuntime, NodeSpec
from tests.e2e.conftest import login, shot
from tests.live.conftest import live_base_port, live_world  # noqa: F401 - the fixture
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

AUDIO_BYTES = """async () => {
  const h = window.kioskState.handles.main, pc = h && h.webrtcStuff && h.webrtcStuff.pc;
  if (!pc) return 0;
  let n = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") n += s.bytesReceived || 0;
  });
  return n;
}"""


@pytest.fixture
def renditions_on(monkeypatch, settings):
    monkeypatch.setenv("DIEMCAU_LIVE_RENDITIONS", "1")  # the ASGI child's settings
    settings.LIVE_RENDITIONS = True                      # the runtime here


@pytest.fixture
def on_air(renditions_on, live_world, tmp_path):  # noqa: F811 - the imported fixture
    port = live_base_port()
    root = JanusNode("root", port, folder=tmp_path / "root")
    root.start()
    runtime = LiveRuntime(live_world["conference"].pk, [NodeSpec("root", port, role="root")],
                          nodes={"root": root}, synthetic_host=True, feed_size=(320, 180),
                          hls_dir=live_hls.hls_folder())  # the folder the ASGI child serves /live/hls/ from
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(runtime.run()), daemon=True)
    thread.start()
    wait_for(lambda: runtime.root.up, 20, "root provisioned")
    yield live_world
    loop.call_soon_threadsafe(runtime.stop)
    thread.join(15)
    root.stop()
    shutil.rmtree(live_hls.hls_folder(), ignore_errors=True)  # no stale playlist for the next test's kiosks


def test_a_kiosk_forced_to_audio_only_plays_sound(browser, renditions_on, asgi_server, on_air):
    w, url = on_air, asgi_server.url
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.base_url = url
    login(page, w["ops"]["hanoi"].username)
    page.goto(f"{url}/live/points/{w['hanoi'].pk}/kiosk/", wait_until="domcontentloaded")
    wait_for(lambda: page.evaluate("() => (window.kioskFigures || {main: {}}).main.frames_decoded > 5"), 30,
             "the kiosk decoding the programme (WebRTC main)")

    page.select_option("#reception", "audio")  # the operator forces audio only
    page.click("#sound-on")
    wait_for(lambda: page.evaluate("() => window.kioskReach.mode") == "audio", 10, "the kiosk in audio-only mode")
    wait_for(lambda: page.evaluate("() => document.getElementById('audio-only').currentTime") > 0.5, 20,
             "the audio element playing")
    before = page.evaluate("() => document.getElementById('audio-only').currentTime")
    bytes_before = page.evaluate(AUDIO_BYTES)
    time.sleep(2)
    audio = page.evaluate("() => { const a = document.getElementById('audio-only'); "
                          "return {t: a.currentTime, muted: a.muted, paused: a.paused}; }")
    assert audio["t"] > before + 1.0 and not audio["muted"] and not audio["paused"], audio
    assert page.evaluate(AUDIO_BYTES) > bytes_before > 0
    # No picture is asked for: the audio-only mountpoint carries audio alone.
    assert page.evaluate("() => window.kioskFigures.main.frames_decoded") == 0
    assert AuditEntry.objects.filter(action="live.kiosk_mode_forced", object_id=str(w["hanoi"].pk),
                                     after={"mode": "audio"}).exists()
    shot(page, "live-kiosk-audio-only")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "live-kiosk-audio-only-phone")

    board = context.new_page()  # the operator's own view of the board (the point is in their scope)
    board.goto(f"{url}/live/conference/{w['conference'].pk}/board/", wait_until="domcontentloaded")
    wait_for(lambda: board.locator(f'tr[data-point="{w["hanoi"].pk}"] .reception[data-mode="audio"]')
             .count() == 1, 20, "the board showing the point in audio only")
    shot(board, "live-board-reception-mode")

    page.select_option("#reception", "hls")  # the next step of the ladder, forced: hls.js on the signed link
    wait_for(lambda: page.evaluate("() => window.kioskReach.mode") == "hls", 10, "the kiosk in HLS mode")
    wait_for(lambda: page.evaluate("() => document.getElementById('main').currentTime") > 1.0, 40,
             "the HLS programme playing")
    assert page.evaluate("() => !!window.Hls && !!window.kioskReach.hls")
    context.close()
