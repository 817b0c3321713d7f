"""A teacher's morning on a phone (390×844): home → badge → watch (the in-page HLS player, with sound
only) → ask → vote, on a real ffmpeg-made HLS folder played by hls.js through Chromium's MSE."""

import shutil
import subprocess

import pytest

from diemcau.voice.models import Opinion, Vote
from tests.site.participant_world import ADDRESS, QUESTION, teacher_morning

from .conftest import login, shot

ASKED = "Đề nghị cho biết lịch tập huấn sách giáo khoa lớp 5 năm học tới"
# What the home page may weigh on the wire, all resources counted uncompressed (htmx is most of it).
PAGE_BUDGET = 120_000


@pytest.fixture
def hls_folder(tmp_path, settings):
    """A real programme HLS folder: a master playlist with a picture+sound variant and a sound-only one."""
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed")
    settings.VAR_DIR = tmp_path
    folder = tmp_path / "hls" / "programme"
    folder.mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=15", "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=44100", "-t", "6", "-map", "0:v", "-map", "1:a", "-map", "1:a",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "48k",
         "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-var_stream_map", "v:0,a:0 a:1",
         "-master_pl_name", "index.m3u8", "-hls_segment_filename", str(folder / "s%v_%03d.ts"),
         str(folder / "s%v.m3u8")], check=True, timeout=60)
    return folder


def _page_weight(page) -> int:
    """Bytes of the document and every resource it loaded (uncompressed: the worst case)."""
    return page.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource')).reduce((n, e) => n + (e.decodedBodySize || 0), 0)""")


def test_a_teachers_morning_on_a_phone(phone, transactional_db, tree, person_factory, hls_folder):
    w = teacher_morning(tree, person_factory)
    login(phone, "giaovien")

    # Home: the session, the point with its address and directions, the badge, watch, ask and vote.
    phone.goto(phone.base_url + "/")
    assert phone.locator("h1").inner_text().startswith("Xin chào, Lê Thị Mai")
    session = phone.locator(".me-session")
    assert "Phiên sáng" in session.inner_text() and ADDRESS in session.inner_text()
    assert phone.locator(".me-links a[href^='geo:']").count() == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "the home scrolls sideways"
    weight = _page_weight(phone)
    assert weight < PAGE_BUDGET, f"the phone home weighs {weight} bytes"
    for selector in (".me-actions a", ".me-ask button", f"#vote-{w['item'].pk} button"):
        box = phone.locator(selector).first.bounding_box()
        assert box["height"] >= 44, f"{selector} is too small for a thumb ({box['height']} px)"
    shot(phone, "participant-home-phone")

    # Badge: one's own QR, large enough to scan at arm's length.
    phone.click(".me-actions a[href*='/badge/']")
    qr = phone.locator(".badge-card .qr svg")
    assert qr.bounding_box()["width"] >= 280
    assert "Lê Thị Mai" in phone.locator(".badge-card").inner_text()
    phone.go_back()

    # Watch: no media server here, so the HLS player is the page's player; sound only loads the
    # audio rendition's playlist and the sound goes on.
    phone.click(".me-actions a[href*='/watch/']")
    phone.click("[data-hls-player] [data-play]")
    phone.wait_for_function("() => { const v = document.querySelector('#hls-video'); return v.currentTime > 0.5; }")
    assert phone.evaluate("() => document.querySelector('#hls-video').videoWidth") == 320
    with phone.expect_request(lambda r: "/s1_" in r.url):
        phone.click("[data-hls-player] [data-audio-only]")
    phone.wait_for_function("() => { const v = document.querySelector('#hls-video');"
                            " return document.querySelector('.hls-player.audio-only') && v.currentTime > 0.5"
                            " && document.querySelector('[data-hls-player]').hls.url.endsWith('s1.m3u8'); }")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "participant-watch-phone")

    # Ask: the question goes to the moderators; vote: the colleague's question gets the upvote.
    phone.goto(phone.base_url + "/")
    phone.fill("#me-text", ASKED)
    phone.click(".me-ask button[type=submit]")
    phone.locator(".msg.success").wait_for()
    assert Opinion.objects.filter(author=w["person"], text=ASKED, kind="question").exists()
    phone.goto(phone.base_url + "/")
    phone.locator(f"#vote-{w['item'].pk} button").click()
    phone.locator(f"#vote-{w['item'].pk} .tag.ok").wait_for()
    assert Vote.objects.filter(opinion=w["item"], person=w["person"], kind="upvote").exists()
    assert QUESTION in phone.locator(".me-vote").inner_text()

    # The same home on a desktop, for people to look at.
    phone.set_viewport_size({"width": 1280, "height": 860})
    phone.goto(phone.base_url + "/")
    shot(phone, "participant-home-desktop")
