"""In a browser: an import whose worker died says so in Vietnamese, and "Chạy lại" applies it once."""

import datetime

import pytest
from django.utils import timezone

from diemcau.core import tasks
from diemcau.core.models import Job
from diemcau.orgs import importing
from diemcau.orgs.models import ImportBatch, Unit
from tests.e2e.conftest import login, shot
from tests.orgs.sheets import UNIT_HEAD, csv, unit_row, upload


@pytest.mark.django_db(transaction=True)
def test_the_owner_retries_an_import_cut_off_by_a_dead_worker(page, phone, tree, organiser_bavi, monkeypatch,
                                                              settings):
    data = csv([UNIT_HEAD, unit_row("TH_CHAY_LAI", "Trường Tiểu học Chạy Lại")])
    batch = importing.start_import(organiser_bavi, ImportBatch.Kind.UNITS, upload(data, "don-vi-moi.csv"))
    with monkeypatch.context() as m:
        m.setattr(importing, "SYNC_APPLY_ROWS", 0)  # the apply goes to a job ...
        m.setattr(tasks, "_dispatch_on_commit", lambda job_id: None)  # ... which a worker takes, then dies
        batch = importing.confirm_batch(organiser_bavi, batch)
    tasks.claim(batch.job_id, "may-chu-1:4242")
    Job.objects.filter(pk=batch.job_id).update(progress=1, total=2,
                                               lease_until=timezone.now() - datetime.timedelta(seconds=1))
    settings.TASKS_MAX_ATTEMPTS = 1  # no automatic second run: the owner decides
    assert tasks.recover_stranded() == []

    for p, name in ((page, "job-retry-import-lost-desktop"), (phone, "job-retry-import-lost-phone")):
        login(p, "bavi")
        p.goto(f"{p.base_url}/orgs/import/{batch.pk}/")
        p.get_by_text("Tiến trình xử lý bị dừng đột ngột; hãy chạy lại.").wait_for()
        shot(p, name)

    page.get_by_role("button", name="Chạy lại").click()
    page.wait_for_url(f"**/orgs/import/{batch.pk}/result/")
    shot(page, "job-retry-import-applied-desktop")
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    assert Unit.objects.filter(code="TH_CHAY_LAI").count() == 1
    assert Job.objects.get(pk=batch.job_id).status == Job.Status.DONE
