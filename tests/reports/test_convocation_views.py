"""The convocation pages: issue, read, confirm on the page or by the link; scoped like the rest."""

import pytest
from django.urls import reverse

from diemcau.convocations import confirming
from diemcau.convocations.models import Confirmation, Convocation, Dispatch
from diemcau.orgs.models import Role

pytestmark = pytest.mark.django_db


def test_bavi_confirms_on_its_page_and_forwards_to_its_schools(convoked, client):
    client.force_login(convoked["people"]["bavi"])
    cid = convoked["conference"].pk
    page = client.get(reverse("reports:convocations", args=[cid])).content.decode()
    assert "Số: 15/GM-SO01" in page and "Đã nhận" in page
    client.post(reverse("reports:convocation-confirm-page", args=[convoked["to_bavi"].pk]))
    assert Confirmation.objects.get().via == "page"
    response = client.post(reverse("reports:convocation-forward", args=[convoked["to_bavi"].pk]),
                           {"issued_on": "2023-08-05", "place": "Ba Vì", "number": "7",
                            "additions": "Kèm lịch chạy thử."})
    forwarded = Convocation.objects.get(issuer=convoked["t"]["bavi"])
    assert response.url == reverse("reports:convocation", args=[forwarded.pk])
    assert forwarded.parent == convoked["hanoi_conv"] and forwarded.recipients.count() == 10  # its schools
    page = client.get(response.url).content.decode()
    assert "Ba Vì, ngày 05 tháng 8 năm 2023" in page and "Thực hiện Giấy mời số 15/GM-SO01" in page
    failed = Dispatch.objects.create(recipient=forwarded.recipients.first(), status="failed", attempts=3,
                                     last_error="SMTPServerDisconnected: Connection unexpectedly closed")
    page = client.get(response.url).content.decode()  # failures are shown, with a button to send them again
    assert failed.last_error in page and "3 lần gửi" in page and "Gửi lại các thư lỗi" in page
    docx = client.get(reverse("reports:convocation-docx", args=[forwarded.pk]))
    assert docx["Content-Type"].endswith("wordprocessingml.document") and docx.content[:2] == b"PK"


def test_an_outsider_sees_nothing_and_a_bad_link_is_refused(convoked, client, make_user):
    client.force_login(make_user("socson", Role.UNIT_ORGANISER, convoked["t"]["socson"]))
    assert client.get(reverse("reports:convocation", args=[convoked["ministry_conv"].pk])).status_code == 404
    copy = f"?to={convoked['to_bavi'].pk}"
    other = client.get(reverse("reports:convocation", args=[convoked["hanoi_conv"].pk]) + copy)
    assert other.status_code == 404  # Sóc Sơn sees Hà Nội's convocation (it is addressed to it), not Ba Vì's copy
    client.logout()
    assert client.get(reverse("reports:convocation-confirm", args=["forged:token"])).status_code == 404
    link = reverse("reports:convocation-confirm", args=[confirming.token_for(convoked["to_bavi"])])
    assert client.post(link).status_code == 200 and Confirmation.objects.get().via == "link"
