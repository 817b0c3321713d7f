"""The vendored janus.js (with webrtc-adapter) speaks to a node from Chromium with a diemcau token.

No media: only the Janus API part (session, attach, a Streaming request), so nothing binds beyond
loopback; publishing and watching through WebRTC is the browser proof's job.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from diemcau.live.janus_client import STREAMING, JanusAdmin
from diemcau.live.janus_node import JanusNode
from tests.environment import missing

STATIC = Path(__file__).resolve().parents[2] / "src" / "diemcau" / "live" / "static" / "live"
CHROMIUM = Path("/usr/bin/chromium")

SCRIPT = """([server, token]) => new Promise(resolve => {
  setTimeout(() => resolve("timeout"), 8000);
  Janus.init({debug: false, callback: () => {
    const janus = new Janus({server, token,
      success: () => janus.attach({plugin: "janus.plugin.streaming",
        success: handle => handle.send({message: {request: "list"},
          success: reply => resolve(reply.streaming)}),
        error: error => resolve("attach: " + error)}),
      error: error => resolve("session: " + error)});
  }});
})"""


def test_vendored_janus_js_uses_a_token_issued_by_diemcau(janus_node: JanusNode) -> None:
    if importlib.util.find_spec("playwright") is None or not CHROMIUM.exists():
        missing("needs Playwright and /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    async def issue() -> None:
        async with JanusAdmin.for_node(janus_node) as admin:
            await admin.add_token("kiosk-token", [STREAMING])

    asyncio.run(issue())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            page.set_content("<html><body></body></html>")
            page.add_script_tag(path=str(STATIC / "adapter.js"))
            page.add_script_tag(path=str(STATIC / "janus.js"))
            assert page.evaluate(SCRIPT, [janus_node.http_url, "kiosk-token"]) == "list"
            refused = page.evaluate(SCRIPT, [janus_node.http_url, "not-issued"])
            assert refused == "session: Unauthorized request (wrong or missing secret/token)"
        finally:
            browser.close()
