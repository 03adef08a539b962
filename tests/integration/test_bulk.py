"""bulk_set: many rows, each to its own values, in one statement per batch (both databases)."""

from datetime import UTC, datetime

import pytest

from towerledger.exchange.bulk import bulk_set
from towerledger.exchange.models import ImportJob


@pytest.mark.django_db
def test_bulk_set_writes_each_row_its_own_values_and_touches_nothing_else():
    jobs = ImportJob.objects.bulk_create(
        [ImportJob(kind="sites", filename=f"f{i}.csv", stored_path="x") for i in range(7)])
    other = ImportJob.objects.create(kind="bills", filename="other.csv", stored_path="y")
    when = datetime(2026, 5, 17, 8, 30, tzinfo=UTC)
    rows = [{"pk": j.pk, "done": i * 10, "status": ImportJob.Status.DONE,
             "finished_at": when if i % 2 else None, "errors": [[i, "列", "中文", "en"]],
             "message": f"消息 {i}"} for i, j in enumerate(jobs)]
    assert bulk_set(ImportJob, rows, ["done", "status", "finished_at", "errors", "message"]) == 7
    got = {j.pk: j for j in ImportJob.objects.all()}
    for i, j in enumerate(jobs):
        g = got[j.pk]
        assert (g.done, g.status, g.message) == (i * 10, "DONE", f"消息 {i}")
        assert g.finished_at == (when if i % 2 else None)
        assert g.errors == [[i, "列", "中文", "en"]]
        assert g.filename == f"f{i}.csv"
    untouched = got[other.pk]
    assert (untouched.done, untouched.status, untouched.errors) == (0, "QUEUED", [])


@pytest.mark.django_db
def test_bulk_set_splits_large_updates_into_batches():
    jobs = ImportJob.objects.bulk_create(
        [ImportJob(kind="sites", filename="f", stored_path="x") for _ in range(12_000)])
    assert bulk_set(ImportJob, [{"pk": j.pk, "done": j.pk % 997} for j in jobs], ["done"]) \
        == 12_000
    assert all(pk % 997 == done for pk, done in ImportJob.objects.values_list("pk", "done"))
    assert bulk_set(ImportJob, [], ["done"]) == 0
