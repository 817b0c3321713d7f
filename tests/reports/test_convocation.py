"""The convocation read back (its .docx parsed, its PDF's text), and sent to a real local SMTP server."""

import io
import re

import icalendar
import pytest
from docx import Document

from diemcau.convocations import sending
from diemcau.convocations.models import Confirmation, Dispatch
from diemcau.core import tasks
from diemcau.core.models import Job
from diemcau.reports import convocation
from diemcau.reports.convocation_docx import convocation_docx
from diemcau.reports.pdf import render_pdf
from tests.smtp import free_port, point_mail_at

from .pdftext import pdf_text

pytestmark = pytest.mark.django_db
BASE = "http://testserver/"


def _docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_bavi_reads_hanois_forwarded_convocation_in_the_administrative_format(convoked):
    context = convocation.convocation_context(convoked["hanoi_conv"], convoked["to_bavi"], "http://x/confirm/T/")
    expected = [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "SỞ GD&ĐT HÀ NỘI",
        "Số: 15/GM-SO01", "Hà Nội, ngày 03 tháng 8 năm 2023", "GIẤY MỜI",
        "Kính gửi: Phòng GD&ĐT huyện Ba Vì",
        "Thực hiện Giấy mời số 12/GM-BGDDT ngày 01/08/2023 của Bộ Giáo dục và Đào tạo",
        "Phiên buổi sáng", "Điểm cầu Phòng GD&ĐT Ba Vì", "1 đoàn theo cơ cấu, tối thiểu 1 cán bộ quản lý, 2 giáo viên",
        "Các phòng GD&ĐT thông báo đến các trường trực thuộc.", "http://x/confirm/T/", "Nơi nhận:", "GIÁM ĐỐC",
        "Trường Tiểu học Tây Đằng A", "Trường Mầm non Vân Hòa",
    ]
    docx_text = _docx_text(convocation_docx(context))
    pdf = pdf_text(render_pdf(convocation.TEMPLATE, context))
    flat_pdf = re.sub(r"\s+", " ", pdf)
    for text in expected:
        assert text in docx_text, text
        assert text in flat_pdf, text
    assert "PHỤ LỤC" in docx_text and "Phụ lục".upper() in flat_pdf.upper()
    # The appendix lists Ba Vì's points only: nothing of Sóc Sơn's school.
    assert "Trường THCS Phù Linh" not in docx_text and "Trường THCS Phù Linh" not in flat_pdf


def test_the_emails_land_with_their_recipients_attachments_and_a_link_that_confirms(
        convoked, smtp_server, client, django_capture_on_commit_callbacks):
    who = convoked["people"]
    with django_capture_on_commit_callbacks(execute=True):  # the job runs once the queueing commits
        queued = sending.send(who["hanoi"], convoked["hanoi_conv"], BASE)
    assert len(queued) == 1  # Sóc Sơn has no address: recorded, not sent
    statuses = dict(Dispatch.objects.values_list("recipient__unit__code", "status"))
    assert statuses == {"PGD_BAVI": "sent", "PGD_SOCSON": "no_address"}
    [mail] = smtp_server.wait_for(1)
    assert mail.envelope_to == ["pgd@bavi.edu.vn"] and mail["To"] == "pgd@bavi.edu.vn"
    assert str(mail["Subject"]).strip().startswith("Giấy mời số 15/GM-SO01")
    files = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(files) == {"giay-moi-SO01-PGD_BAVI.pdf", "giay-moi-SO01-PGD_BAVI.docx", "lich-hop.ics"}
    assert "Kính gửi: Phòng GD&ĐT huyện Ba Vì" in _docx_text(files["giay-moi-SO01-PGD_BAVI.docx"].get_content())
    assert pdf_text(files["giay-moi-SO01-PGD_BAVI.pdf"].get_content()).startswith("SỞ GD&ĐT HÀ NỘI") or \
        "CỘNG HÒA" in pdf_text(files["giay-moi-SO01-PGD_BAVI.pdf"].get_content())
    calendar = icalendar.Calendar.from_ical(files["lich-hop.ics"].get_content())
    events = calendar.walk("VEVENT")
    assert [str(e["SUMMARY"]).split(": ")[1] for e in events] == ["Phiên buổi sáng", "Phiên buổi chiều"]
    assert events[0]["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh" and calendar.walk("VTIMEZONE")
    with django_capture_on_commit_callbacks(execute=True):  # Ba Vì has not confirmed: it is reminded
        assert len(sending.remind(who["hanoi"], convoked["hanoi_conv"], BASE)) == 1
    reminder = smtp_server.wait_for(2)[1]
    assert str(reminder["Subject"]).strip().startswith("Nhắc xác nhận giấy mời số 15/GM-SO01")
    link = re.search(r"http://testserver(/convocations/confirm/\S+/)", mail.get_body(("plain",)).get_content())[1]
    assert "Đã nhận" in client.get(link).content.decode() and not Confirmation.objects.exists()
    for _ in range(2):  # idempotent
        assert client.post(link).status_code == 200
    assert Confirmation.objects.get().recipient == convoked["to_bavi"]
    # A reminder goes only to the units that have not confirmed: none with an address is left here.
    with django_capture_on_commit_callbacks(execute=True):
        queued = sending.remind(who["hanoi"], convoked["hanoi_conv"], BASE)
    assert queued == [] and Dispatch.objects.filter(kind="reminder", status="no_address").count() == 2


def test_a_failing_smtp_is_recorded_then_retried_by_the_queue(convoked, smtp_server, settings,
                                                              django_capture_on_commit_callbacks):
    who = convoked["people"]
    point_mail_at(settings, "127.0.0.1", free_port())  # nothing listens there: connection refused
    with django_capture_on_commit_callbacks(execute=True):
        sending.send(who["hanoi"], convoked["hanoi_conv"], BASE)
    failed = Dispatch.objects.get(status="failed")
    assert failed.recipient == convoked["to_bavi"] and failed.attempts == 1
    assert "ConnectionRefused" in failed.last_error
    job = Job.objects.get(kind=sending.JOB_KIND)
    assert job.status == Job.Status.FAILED and job.can_retry and job.message.startswith("SendFailed: 1/1 thư")
    point_mail_at(settings, smtp_server.host, smtp_server.port)  # the server is back
    with django_capture_on_commit_callbacks(execute=True):
        tasks.retry(who["hanoi"], job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result == {"sent": 1, "failed": 0}
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["pgd@bavi.edu.vn"]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("sent", 2, "")
