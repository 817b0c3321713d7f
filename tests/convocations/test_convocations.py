"""Issuing, forwarding, confirming and the roll-up of convocations, against the rules of access."""

import datetime

import pytest
from django.core import signing

from diemcau.convocations import confirming, issuing
from diemcau.convocations.models import Confirmation, Convocation
from diemcau.core.errors import DomainError, ScopeError
from diemcau.core.models import AuditEntry

from .conftest import ISSUED

pytestmark = pytest.mark.django_db


def test_the_ministry_convokes_the_invited_units_and_hanoi_forwards_to_its_districts(convoked):
    t = convoked["t"]
    ministry, hanoi = convoked["ministry_conv"], convoked["hanoi_conv"]
    assert ministry.symbol == "GM-BGDDT" and ministry.number_line == "Số: 12/GM-BGDDT"
    assert ministry.signer_title == "THỨ TRƯỞNG"
    recipients = {r.unit.code: r.email for r in ministry.recipients.select_related("unit")}
    assert recipients == {"SO01": "vanphong@hanoi.edu.vn", "SO79": "vanphong@hcm.edu.vn", "DHSPHN": ""}
    assert hanoi.parent == ministry and hanoi.issuer == t["hanoi"] and hanoi.signer_title == "GIÁM ĐỐC"
    assert {r.unit.code: r.email for r in hanoi.recipients.select_related("unit")} == {
        "PGD_BAVI": "pgd@bavi.edu.vn", "PGD_SOCSON": ""}
    assert AuditEntry.objects.filter(action="convocation.issued").count() == 2


def test_who_may_issue_forward_and_confirm_on_the_page(convoked):
    t, people = convoked["t"], convoked["people"]
    with pytest.raises(ScopeError):  # Ba Vì's organiser cannot issue Hà Nội's convocation
        issuing.issue(people["bavi"], convoked["conference"], t["hcm"], issued_on=ISSUED)
    with pytest.raises(DomainError) as exc:
        issuing.forward(people["hanoi"], convoked["to_hanoi"], issued_on=ISSUED)
    assert exc.value.code == "convocation_exists"
    with pytest.raises(DomainError) as exc:
        issuing.issue(people["bavi"], convoked["conference"], t["bavi"],
                      issued_on=convoked["conference"].date + datetime.timedelta(days=1))
    assert exc.value.code == "issued_after_day"
    assert Convocation.objects.count() == 2
    with pytest.raises(ScopeError):  # on the page, only for one's own unit; anyone with the link otherwise
        confirming.confirm(people["hcm"], convoked["to_bavi"], via=Confirmation.Via.PAGE)
    confirmation, new = confirming.confirm(people["bavi"], convoked["to_bavi"], via=Confirmation.Via.PAGE)
    assert new and confirmation.confirmed_by == people["bavi"]


def test_the_link_confirms_once_is_audited_and_refuses_a_forged_or_expired_token(convoked, settings):
    recipient = convoked["to_bavi"]
    token = confirming.token_for(recipient)
    assert confirming.recipient_for_token(token) == recipient
    first, new = confirming.confirm(None, recipient, via=Confirmation.Via.LINK)
    again, new_again = confirming.confirm(None, confirming.recipient_for_token(token), via=Confirmation.Via.LINK)
    assert new and not new_again and first.pk == again.pk and first.confirmed_at == again.confirmed_at
    assert AuditEntry.objects.filter(action="convocation.confirmed").count() == 1
    with pytest.raises(DomainError) as exc:
        confirming.recipient_for_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert exc.value.code == "bad_link"
    other = signing.TimestampSigner(salt="another.purpose").sign(f"{recipient.pk}.{recipient.convocation_id}")
    with pytest.raises(DomainError):
        confirming.recipient_for_token(other)
    settings.CONVOCATION_LINK_DAYS = -1
    with pytest.raises(DomainError) as exc:
        confirming.recipient_for_token(token)
    assert exc.value.code == "link_expired"


def test_the_rollup_counts_each_child_unit_and_names_who_has_not_confirmed(convoked):
    t, people = convoked["t"], convoked["people"]
    confirming.confirm(None, convoked["to_bavi"], via=Confirmation.Via.LINK)
    national = confirming.rollup(people["ministry"], convoked["conference"], t["ministry"])
    rows = {r["unit"].code: (r["total"], r["confirmed"], r["missing"]) for r in national["children"]}
    # Hà Nội's line counts Hà Nội itself (the ministry's recipient) and its two districts (its own recipients).
    assert rows == {"SO01": (3, 1, 2), "SO79": (1, 0, 1), "DHSPHN": (1, 0, 1)}
    assert (national["total"], national["confirmed"], national["missing"]) == (5, 1, 4)
    assert {r.unit.code for r in national["waiting"]} == {"SO01", "PGD_SOCSON", "SO79", "DHSPHN"}
    hanoi = confirming.rollup(people["hanoi"], convoked["conference"], t["hanoi"])
    assert {r["unit"].code: (r["total"], r["confirmed"]) for r in hanoi["children"]} == {
        "PGD_BAVI": (1, 1), "PGD_SOCSON": (1, 0)}
    assert hanoi["own"] == convoked["to_hanoi"]
    with pytest.raises(ScopeError):
        confirming.rollup(people["bavi"], convoked["conference"], t["hanoi"])
