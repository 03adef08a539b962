"""bulk_set: many rows, each to its own values, in one statement per batch (both databases)."""

from datetime import UTC, datetime

import pytest

from towerledger.db.bulk import bulk_set
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


@pytest.mark.django_db
def test_copy_insert_returns_ids_in_row_order_and_fills_defaults():
    from towerledger.db.bulk import copy_insert

    before = ImportJob.objects.create(kind="sites", filename="before.csv", stored_path="x")
    when = datetime(2026, 5, 17, 8, 30, tzinfo=UTC)
    rows = [{"kind": "bills", "filename": f"文件{i}.csv", "stored_path": "p", "done": i,
             "errors": [[i, "列", "中文", "en"]] if i % 2 else [],
             **({"finished_at": when} if i == 3 else {})} for i in range(5)]
    ids = copy_insert(ImportJob, rows)
    assert len(ids) == 5 and ids == sorted(ids) and ids[0] > before.pk
    got = {j.pk: j for j in ImportJob.objects.filter(pk__in=ids)}
    for i, pk in enumerate(ids):
        job = got[pk]
        assert (job.filename, job.done, job.status) == (f"文件{i}.csv", i, "QUEUED")
        assert job.errors == ([[i, "列", "中文", "en"]] if i % 2 else [])
        assert job.finished_at == (when if i == 3 else None)
        assert job.created_at is not None
    after = ImportJob.objects.create(kind="sites", filename="after.csv", stored_path="x")
    assert after.pk > ids[-1]  # the sequence moved past the copied rows
    assert copy_insert(ImportJob, []) == []


@pytest.mark.django_db
def test_copy_insert_many_rows():
    from towerledger.db.bulk import copy_insert

    ids = copy_insert(ImportJob, [{"kind": "sites", "filename": "f", "stored_path": "x",
                                   "done": n} for n in range(12_000)])
    assert len(set(ids)) == 12_000
    assert dict(ImportJob.objects.values_list("pk", "done")) == {pk: n for n, pk in
                                                                enumerate(ids)}


@pytest.mark.django_db
def test_fetch_in_reads_rows_whose_column_is_one_of_the_values():
    from towerledger.db.bulk import fetch_in

    jobs = ImportJob.objects.bulk_create(
        [ImportJob(kind="sites", filename=f"f{i}", stored_path="x", done=i) for i in range(7000)])
    table = ImportJob._meta.db_table
    wanted = [j.pk for j in jobs[::2]]
    rows = fetch_in(f"SELECT id, done FROM {table} WHERE done >= %s AND id {{in}} AND kind = %s",
                    wanted, before=[10], after=["sites"])
    assert sorted(rows) == [(j.pk, j.done) for j in jobs[::2] if j.done >= 10]
    assert sorted(pk for pk, in fetch_in(f"SELECT id FROM {table} WHERE filename {{in}}",
                                         ["f1", "f3", "nope", "f3"])) == [jobs[1].pk, jobs[3].pk]
    assert fetch_in(f"SELECT id FROM {table} WHERE id {{in}}", []) == []


@pytest.mark.django_db
def test_one_of_takes_empty_and_integer_lists_on_any_column():
    from towerledger.db.bulk import OneOf

    jobs = ImportJob.objects.bulk_create(
        [ImportJob(kind="sites", filename=str(i), stored_path="x") for i in range(3)])
    assert not ImportJob.objects.filter(OneOf("filename", [])).exists()
    assert not ImportJob.objects.filter(OneOf("pk", [])).exists()
    assert set(ImportJob.objects.filter(OneOf("pk", [jobs[0].pk, jobs[2].pk]))
               .values_list("filename", flat=True)) == {"0", "2"}
    assert ImportJob.objects.filter(OneOf("filename", ["1", "7"])).get().pk == jobs[1].pk
