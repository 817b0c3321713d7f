"""In a browser: a big assignment list is checked and applied by jobs while its page shows progress."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model

from diemcau.core import tasks
from diemcau.demo import org_tree
from diemcau.demo import orgs as orgs_demo
from diemcau.orgs.models import Unit
from diemcau.points.models import Assignment, AssignmentImport
from diemcau.reports.official_list import official_list_workbook

from .conftest import SCREENSHOTS, login, shot
from .test_planning import planned_demo  # noqa: F401  (the fixture)


@pytest.mark.timeout(300)
def test_a_big_list_shows_progress_then_its_preview_then_is_applied_once(page, phone, planned_demo,  # noqa: F811
                                                                         settings, monkeypatch):
    conference = planned_demo
    morning = conference.sessions.order_by("starts_at").first()
    bavi = Unit.objects.get(code=org_tree.BA_VI_CODE)
    organiser = get_user_model().objects.get(username="bavi")
    # Ba Vì's official list, exported, is an assignment list; 20 schools lose their point meanwhile.
    data = official_list_workbook(organiser, conference, bavi, "Hà Nội", datetime.date(2023, 8, 10))
    gone = list(Assignment.objects.filter(session=morning, institution__path__startswith=bavi.path)
                .order_by("institution__code").values_list("pk", flat=True)[:20])
    Assignment.objects.filter(pk__in=gone).delete()
    upload = SCREENSHOTS.parent / "danh-sach-phan-cong-lon.xlsx"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(data)

    settings.IMPORT_SYNC_UNCOMPRESSED_BYTES = 1000  # this list counts as big
    queued = []
    monkeypatch.setattr(tasks, "_dispatch_on_commit", queued.append)  # the worker is busy elsewhere

    login(page, "bavi", orgs_demo.DEMO_PASSWORD)
    page.goto(f"{page.base_url}/points/sessions/{morning.pk}/import/?unit={bavi.pk}")
    page.set_input_files("input[type=file]", str(upload))
    page.locator("form.planner-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/points/imports/\d+/"))
    batch = AssignmentImport.objects.get()
    assert batch.status == "pending" and batch.job.kind == "points.import_preview" and queued == [batch.job_id]
    assert page.locator("#import-progress").is_visible()

    # A worker takes the job and reports progress as it goes (the real Progress the handler gets).
    job = tasks.claim(batch.job_id, "e2e-worker")
    tasks.Progress(job)(41, 103, "Đang kiểm tra các dòng…", force=True)
    page.wait_for_selector("#import-progress .bar[style*='width: 39%']")
    shot(page, "points-import-job-progress-desktop")
    login(phone, "bavi", orgs_demo.DEMO_PASSWORD)
    phone.goto(f"{phone.base_url}/points/imports/{batch.pk}/")
    shot(phone, "points-import-job-progress-phone")

    # The job ends: the page goes on to the preview by itself.
    tasks._execute(job, "e2e-worker")
    page.wait_for_selector("form[action$='/confirm/'] button.primary", timeout=15000)
    assert "20" in page.locator("dl.figures").inner_text()
    shot(page, "points-import-job-preview-desktop")
    # The phone's page goes on by itself too (a reload racing that navigation was aborted now and then).
    phone.wait_for_selector("form[action$='/confirm/'] button.primary", timeout=15000)
    shot(phone, "points-import-job-preview-phone")

    # Applying: a job too; the page waits for it, then shows the list applied. Applied once.
    page.locator("form[action$='/confirm/'] button.primary").click()
    page.wait_for_selector("#import-progress")
    batch.refresh_from_db()
    assert batch.status == "applying" and batch.job.kind == "points.import_apply"
    shot(page, "points-import-job-applying-desktop")
    tasks.run(batch.job_id)
    tasks.HANDLERS["points.import_apply"](batch.job, lambda *a, **k: None)  # delivered twice
    page.wait_for_selector(".tag.ok", timeout=15000)
    assert Assignment.objects.filter(session=morning, method="import").count() == 20
    shot(page, "points-import-job-applied-desktop")
