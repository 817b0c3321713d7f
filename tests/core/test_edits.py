"""The shapes every app shares, written once: editing own fields, the staged-import record."""

import pytest

from diemcau.core import audit, edits
from diemcau.core.errors import DomainError
from diemcau.core.models import AuditEntry, Job, StagedImport
from diemcau.orgs.models import ImportBatch
from diemcau.points.models import AssignmentImport


def test_set_fields_sets_the_allowed_and_refuses_any_other_with_a_stable_code():
    job = Job(kind="test.edit", message="old")
    edits.set_fields(job, {"message": "new"}, ["message"])
    assert job.message == "new"
    with pytest.raises(DomainError) as refused:
        edits.set_fields(job, {"message": "newer", "kind": "other"}, ["message"])
    assert refused.value.code == "bad_field"
    assert job.kind == "test.edit"


@pytest.mark.django_db
def test_record_changes_records_only_what_changed_and_nothing_for_no_change():
    job = Job.objects.create(kind="test.edit", message="old")
    before = audit.snapshot(job, ["message", "kind"])
    assert audit.record_changes(None, "job.updated", job, before, ["message", "kind"]) is None
    job.message = "new"
    job.save()
    entry = audit.record_changes(None, "job.updated", job, before, ["message", "kind"], unit_path="0001")
    assert (entry.before, entry.after, entry.unit_path) == ({"message": "old"}, {"message": "new"}, "0001")
    assert AuditEntry.objects.filter(action="job.updated").count() == 1


def test_both_imports_are_staged_imports_with_their_own_defaults_and_no_table_of_their_own():
    assert StagedImport._meta.abstract
    assert issubclass(ImportBatch, StagedImport) and issubclass(AssignmentImport, StagedImport)
    assert ImportBatch.Status is AssignmentImport.Status is StagedImport.Status
    # as before the shared base: a unit/people batch starts "being checked", an assignment list "has problems"
    assert ImportBatch._meta.get_field("status").default == StagedImport.Status.PENDING
    assert AssignmentImport._meta.get_field("status").default == StagedImport.Status.INVALID
    assert ImportBatch._meta.get_field("sha256").db_index and not AssignmentImport._meta.get_field("sha256").db_index
    assert ImportBatch._meta.ordering == AssignmentImport._meta.ordering == ["-created_at", "-id"]
    assert ImportBatch(status=StagedImport.Status.APPLYING).is_busy
    assert not AssignmentImport(status=StagedImport.Status.READY).is_busy
