"""A poll asked to the bridge points, in Chromium: the director asks it on the console, it appears over a
hall's kiosk (pushed, no reload), the kiosk answers for its point, the director sees the answer counted,
and the results the director shows on kiosks appear there while the hall keeps its thanks."""

from diemcau.live import polls
from diemcau.live.models import Poll, PollVote
from tests.live.conftest import live_world  # noqa: F401  (the conference, its points and operators)

from .conftest import login, shot

QUESTION = "Điểm cầu đã nghe rõ phần phát biểu của Bộ trưởng chưa?"


def test_a_poll_asked_to_points_appears_on_a_kiosk_and_its_answer_is_counted(browser, asgi_server, asgi_page,
                                                                             live_world):  # noqa: F811
    w = live_world
    kiosk_context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                        viewport={"width": 1280, "height": 860})
    kiosk_context.set_default_timeout(15000)
    kiosk = kiosk_context.new_page()
    kiosk.base_url = asgi_server.url
    login(kiosk, "op_bavi")
    pushes = []  # the frames of the kiosk's poll form (the state group)
    kiosk.on("websocket", lambda ws: ws.on("framereceived", lambda frame: pushes.append(frame))
             if ws.url.endswith("/kiosk/") and "/polls/" in ws.url else None)
    kiosk.goto(f"{kiosk.base_url}/live/points/{w['bavi'].pk}/kiosk/", wait_until="domcontentloaded")
    assert kiosk.locator("#kiosk-poll").is_hidden()  # no poll yet: nothing over the picture

    director = asgi_page
    login(director, "dieuphoi")
    director.goto(f"{director.base_url}/live/conference/{w['conference'].pk}/director/")
    director.fill("form.poll-ask input[name=question]", QUESTION)
    director.fill("form.poll-ask textarea[name=choices]", "Rõ\nChưa rõ")
    director.select_option("form.poll-ask select[name=audience]", "points")
    director.click("form.poll-ask button[type=submit]")

    kiosk.wait_for_selector(f"#kiosk-poll .poll-question:has-text('{QUESTION}')")
    shot(kiosk, "kiosk-poll-question")
    kiosk.click("#kiosk-poll button[value='1']")
    kiosk.wait_for_selector("#kiosk-poll:has-text('Đã ghi nhận câu trả lời của điểm cầu.')")
    assert kiosk.locator("#kiosk-poll button").count() == 0
    poll = Poll.objects.get(question=QUESTION)
    assert poll.audience == Poll.Audience.POINTS
    assert list(PollVote.objects.filter(poll=poll).values_list("point_id", "choice")) == [(w["bavi"].pk, 1)]
    assert polls.results(poll)["total"] == 1

    director.wait_for_selector("#poll-results:has-text('1 câu trả lời')")
    heard = len(pushes)
    director.click("#poll-results form[action$='/show/'] button")
    results = kiosk.locator("#kiosk-poll-results")
    results.wait_for(state="visible")
    assert QUESTION in results.inner_text() and "Chưa rõ" in results.inner_text()
    # the push that showed the results re-sent the open poll to every kiosk: this hall keeps its thanks
    for _ in range(300):
        if len(pushes) > heard:
            break
        kiosk.wait_for_timeout(50)
    assert len(pushes) > heard, "showing the results pushed nothing to the kiosk's poll form"
    assert kiosk.locator("#kiosk-poll button").count() == 0
    assert "Đã ghi nhận câu trả lời của điểm cầu." in kiosk.locator("#kiosk-poll").inner_text()
    shot(kiosk, "kiosk-poll-results")
    kiosk_context.close()
