"""The error pages: Vietnamese, in the site's layout with a way back; no traceback for a refusal;
the API's 404 and 422 in Vietnamese with the business errors' shape."""

import logging

import pytest
from django.test import RequestFactory

from diemcau.core.errorpages import ErrorPageMiddleware
from diemcau.core.errors import DomainError

pytestmark = pytest.mark.smoke


def _page(response) -> str:
    return response.content.decode()


def test_403_is_a_vietnamese_page_in_the_layout_and_logs_no_traceback(client, make_user, tree, caplog):
    teacher = make_user("gv_loi", role="participant", unit=tree["school_a"])
    client.force_login(teacher)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/audit/", HTTP_REFERER="http://testserver/")
    assert response.status_code == 403
    page = _page(response)
    assert "Bạn không có quyền xem trang này" in page and 'id="mainnav"' in page
    assert "Về trang chủ" in page and 'href="http://testserver/"' in page  # back where they came from
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert refusals and all(r.exc_info is None for r in refusals)


def test_404_and_405_are_vietnamese_pages(client, organiser_bavi):
    client.force_login(organiser_bavi)
    missing = client.get("/khong-co-trang-nay/")
    assert missing.status_code == 404 and "Không tìm thấy trang" in _page(missing)
    assert 'href="/"' in _page(missing)
    wrong_method = client.get("/accounts/logout/")
    assert wrong_method.status_code == 405 and wrong_method["Allow"] == "POST"
    assert "Không thể thực hiện thao tác này tại đây" in _page(wrong_method)


def test_a_domain_error_no_view_caught_is_a_400_page_with_its_message(rf_user_request):
    def view(request):
        raise DomainError("Phiên họp đã kết thúc.", "session_over")

    middleware = ErrorPageMiddleware(view)
    response = middleware.process_exception(rf_user_request, DomainError("Phiên họp đã kết thúc.", "session_over"))
    assert response.status_code == 400 and "Phiên họp đã kết thúc." in _page(response)


def test_the_api_speaks_vietnamese_for_404_and_422(client, national, tree):
    client.force_login(national)
    absent = client.get("/api/orgs/units/999999/")
    assert absent.status_code == 404 and absent.json() == {"code": "not_found", "message": "Không tìm thấy."}
    unknown = client.get("/api/khong-co/")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    invalid = client.get("/api/orgs/units/", {"limit": "nhieu"})
    body = invalid.json()
    assert invalid.status_code == 422 and body["code"] == "invalid"
    assert body["message"] == "Yêu cầu không hợp lệ: limit."
    assert body["details"][0]["field"] == "limit" and body["details"][0]["message"] == "Hãy nhập một số nguyên."


@pytest.fixture
def rf_user_request(organiser_bavi):
    request = RequestFactory().get("/")
    request.user = organiser_bavi
    return request
