"""Background jobs: progress, failures, and the websocket that only the owner may open."""

import time

import pytest
from channels.testing import WebsocketCommunicator
from django.db import transaction

from diemcau.core import jobs
from diemcau.core.errors import DomainError
from diemcau.core.models import Job


@jobs.handler("test.count")
def _count(job, progress):
    n = job.params["n"]
    for i in range(n):
        progress(i + 1, n, "counting")
    return {"counted": n}


@jobs.handler("test.slow")
def _slow(job, progress):
    for i in range(3):
        progress(i + 1, 3, "counting slowly", force=True)
        time.sleep(0.4)  # the page reads the row after each report: let it see each one
    return {"counted": 3}


@jobs.handler("test.refuse")
def _refuse(job, progress):
    raise DomainError("Không được", "refused", details=[{"row": 2}])


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_job_runs_after_commit_and_records_its_result(django_user_model):
    user = django_user_model.objects.create_user("u")
    with transaction.atomic():
        job = jobs.enqueue("test.count", owner=user, n=5)
        assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED  # not before the commit
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result == {"counted": 5} and job.percent == 100


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_domain_errors_become_readable_failures(django_user_model):
    user = django_user_model.objects.create_user("u")
    job = jobs.enqueue("test.refuse", owner=user)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.message == "Không được" and job.result["code"] == "refused"


@pytest.mark.smoke
def test_job_status_only_for_its_owner(client, django_user_model):
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    job = Job.objects.create(kind="test.count", owner=owner, total=10, progress=5, status="running")
    client.force_login(other)
    assert client.get(f"/jobs/{job.pk}/").status_code == 403
    client.force_login(owner)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'aria-valuenow="50"' in html


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_job_websocket_refuses_strangers_and_streams_to_the_owner(django_user_model):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter

    from diemcau.routing import websocket_urlpatterns

    owner = await sync_to_async(django_user_model.objects.create_user)("owner")
    stranger = await sync_to_async(django_user_model.objects.create_user)("stranger")
    job = await sync_to_async(Job.objects.create)(kind="test.count", owner=owner, status="done", total=3,
                                                   progress=3)
    app = URLRouter(websocket_urlpatterns)

    comm = WebsocketCommunicator(app, f"/ws/jobs/{job.pk}/")
    comm.scope["user"] = stranger
    connected, code = await comm.connect()
    assert not connected and code == 4403

    comm = WebsocketCommunicator(app, f"/ws/jobs/{job.pk}/")
    comm.scope["user"] = owner
    connected, _ = await comm.connect()
    assert connected
    message = await comm.receive_json_from(timeout=5)
    assert message["status"] == "done" and message["percent"] == 100
    await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_job_progress_is_pushed_as_the_runner_commits_it(django_user_model, settings):
    """No polling: the page's fragment is pushed at the claim, at each progress report and at the end."""
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter

    from diemcau.routing import websocket_urlpatterns

    settings.JOBS_BACKEND = "eager"
    owner = await sync_to_async(django_user_model.objects.create_user)("owner")
    job = await sync_to_async(Job.objects.create)(kind="test.slow", owner=owner)
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/?htmx=1&next=/done/")
    comm.scope["user"] = owner
    assert (await comm.connect())[0]
    first = (await comm.receive_output(timeout=5))["text"]
    assert f'id="job-{job.pk}"' in first and 'data-status="queued"' in first and "hx-trigger" not in first
    await sync_to_async(jobs.run, thread_sensitive=False)(job.pk)  # a worker of its own, as in production
    pushed = []
    while True:
        message = await comm.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            break
        pushed.append(message["text"])
    running = [html for html in pushed if 'data-status="running"' in html]
    assert len(running) >= 3 and "(2/3)" in "".join(running)  # the claim and each report
    done = pushed[-1]
    assert 'data-status="done"' in done and 'aria-valuenow="100"' in done
    # The finished job's page moves on to its result through the job-status view (an HX-Redirect).
    assert f'hx-get="/jobs/{job.pk}/?next=/done/" hx-trigger="load"' in done
