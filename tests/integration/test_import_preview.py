"""Import preview (导入预览, issue 12): before it commits, a master-data import tells what it
would change — new, changed (field, before → after), ended, removed, unchanged — and writes
nothing; the answer, and what storing gives, are the same whatever the order of the rows
and files."""

import random
from datetime import date

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.helpers import (
    ACCOUNTS_HEADER,
    RULES_HEADER,
    SITES,
    SITES_HEADER,
    TENANCIES,
    TENANCIES_HEADER,
    write_csv,
)
from towerledger.access.models import AuditEntry
from towerledger.cli import app
from towerledger.exchange.models import ImportJob
from towerledger.exchange.services import run_import
from towerledger.sites.models import AccountSite, AllocationRule, Site, Tenancy, TenancyRatio

FILE_TENANCIES = [
    # unchanged
    ["T-ZZ001-CMCC", "ZZ001", "CMCC", "2024-01-01", "", "RESALE", "", "3500", "40", ""],
    # changed: DC current 25 → 30
    ["T-ZZ001-CUCC", "ZZ001", "CUCC", "2024-01-01", "", "RESALE", "", "1300", "30", ""],
    # ended (服务终止) on the FIXED_RATIO site
    ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "2024-06-30", "RESALE", "", "1300", "20",
     ""],
    # new
    ["T-ZZ002-CUCC", "ZZ002", "CUCC", "2024-07-01", "", "RESALE", "", "1300", "20", "40"],
]


def state() -> dict:
    """Everything master data holds, by business keys (never a database id)."""
    return {
        "sites": sorted(Site.objects.values_list(
            "site_code", "site_name", "county__name", "site_type", "host_site__site_code",
            "status", "decommission_date", "longitude", "latitude")),
        "tenancies": sorted(Tenancy.objects.values_list(
            "tenancy_id", "site__site_code", "operator__code", "start_date", "end_date",
            "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a",
            "agreed_ratio")),
        "ratios": sorted(TenancyRatio.objects.values_list(
            "tenancy__tenancy_id", "effective_from", "agreed_ratio")),
        "rules": sorted(AllocationRule.objects.values_list(
            "site__site_code", "effective_from", "method", "fallback_method", "common_policy",
            "tower_share")),
        "splits": sorted(AccountSite.objects.values_list(
            "account__account_no", "site__site_code", "split_ratio")),
    }


def test_a_tenancies_preview_tells_new_changed_ended_unchanged_and_writes_nothing(
        province, tmp_path):
    before, audits = state(), AuditEntry.objects.count()
    result = run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER,
                                               FILE_TENANCIES), preview=True)
    assert not result.stored and result.errors == []
    assert state() == before and AuditEntry.objects.count() == audits
    p = result.preview
    assert [c.key for c in p.new] == [("T-ZZ002-CUCC",)]
    assert ("agreed_ratio", "", "40.000000") in p.new[0].fields
    assert ("ratios", "", "2024-07-01: 40.000000") in p.new[0].fields
    changed = {c.key: c.fields for c in p.changed}
    assert changed == {("T-ZZ001-CUCC",): [("dc_current_a", "25.00", "30.00")],
                       ("T-ZZ002-CTCC",): [("end_date", "", "2024-06-30")]}
    assert [c.key for c in p.ended] == [("T-ZZ002-CTCC",)]
    assert p.unchanged == 1 and p.removed == []
    assert (result.counts.created, result.counts.updated, result.counts.unchanged) == (1, 2, 1)
    # storing it then does exactly that (no refusal of the FIXED_RATIO termination)
    stored = run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER,
                                               FILE_TENANCIES))
    assert stored.stored and stored.counts == result.counts
    assert Tenancy.objects.get(tenancy_id="T-ZZ002-CTCC").end_date == date(2024, 6, 30)
    again = run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER,
                                              FILE_TENANCIES), preview=True)
    assert again.preview.empty and again.preview.unchanged == 4


def test_an_accounts_preview_names_the_split_it_would_remove(province, tmp_path):
    rows = [["A-200", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "0.62", "0.90", "1", "80",
             "ZZ002", "100"]]
    result = run_import("accounts", write_csv(tmp_path / "a.csv", ACCOUNTS_HEADER, rows),
                        preview=True)
    assert [c.key for c in result.preview.removed] == [("A-200", "ZZ003")]
    assert result.preview.changed[0].fields == [("split_ratio", "70.000000", "100.000000")]
    assert AccountSite.objects.filter(account__account_no="A-200").count() == 2


def test_a_preview_of_a_bad_file_is_its_errors_and_a_bills_preview_gives_counts(province,
                                                                                tmp_path):
    bad = [["T-X", "NOPE", "CMCC", "2024-01-01", "", "RESALE", "", "", "", ""]]
    result = run_import("tenancies", write_csv(tmp_path / "bad.csv", TENANCIES_HEADER, bad),
                        preview=True)
    assert result.preview is None and result.errors and not result.stored


def test_the_cli_dry_run_prints_the_changes_and_stores_nothing(province, tmp_path):
    before = state()
    path = write_csv(tmp_path / "t.csv", TENANCIES_HEADER, FILE_TENANCIES)
    out = CliRunner().invoke(app, ["import", "tenancies", str(path), "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "preview, nothing written" in out.output
    assert "T-ZZ002-CTCC" in out.output and "2024-06-30" in out.output
    assert "ended" in out.output and "T-ZZ002-CUCC" in out.output
    assert state() == before


# ---- the same answer whatever the order of rows and files ------------------------------

RULES = [["ZZ001", "2024-01-01", "DC_CURRENT", "EQUAL", "PRO_RATA", "0"],
         ["ZZ001", "2024-06-01", "EQUAL", "", "", "5"],
         ["ZZ002", "2023-06-01", "FIXED_RATIO", "EQUAL", "PRO_RATA", "0"],
         ["ZZ003", "2024-01-01", "EQUAL", "", "", ""]]
NEW_SITES = [*SITES, ["ZZ004", "金水四号", "河南省", "郑州市", "金水区", "SMALL", "ZZ003", "", "", "",
                      ""]]
NEW_TENANCIES = [*FILE_TENANCIES, *TENANCIES[5:],
                 ["T-ZZ004-CMCC", "ZZ004", "CMCC", "2024-03-01", "", "RESALE", "", "", "", "100"]]
FILES = [("sites", SITES_HEADER, NEW_SITES), ("tenancies", TENANCIES_HEADER, NEW_TENANCIES),
         ("rules", RULES_HEADER, RULES)]


def _run(tmp_path, seed: int | None):
    """Preview then store each file (rows shuffled by ``seed``; tenancies and rules in either
    order), inside a transaction rolled back afterwards; returns the previews and the state."""
    rnd = random.Random(seed)
    files = list(FILES)
    if seed is not None and rnd.random() < 0.5:
        files[1], files[2] = files[2], files[1]
    previews = {}
    with transaction.atomic():
        for kind, header, rows in files:
            rows = list(rows)
            if seed is not None:
                rnd.shuffle(rows)
            path = write_csv(tmp_path / f"{kind}-{seed}.csv", header, rows)
            p = run_import(kind, path, preview=True)
            assert p.preview is not None, [e.text() for e in p.errors]
            previews[kind] = (p.preview.as_dict(), p.counts)
            assert run_import(kind, path).stored
        stored = state()
        transaction.set_rollback(True)
    return previews, stored


@pytest.fixture
def reference(province, tmp_path):
    return _run(tmp_path, None)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffled_rows_and_files_give_the_same_preview_and_the_same_stored_state(
        reference, tmp_path, seed):
    previews, stored = _run(tmp_path, seed)
    assert previews == reference[0]
    assert stored == reference[1]


# ---- the import page: the preview, then a confirm button ------------------------------


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_the_import_page_previews_then_stores_on_confirm(users, tmp_path, client):
    client.force_login(users["clerk_zz"])
    path = write_csv(tmp_path / "t.csv", TENANCIES_HEADER, FILE_TENANCIES)
    before = state()
    with path.open("rb") as f:
        r = client.post(reverse("imports"), {"kind": "tenancies", "file": f, "preview": "1",
                                             "reason": "服务终止"})
    job = ImportJob.objects.get()
    assert job.preview and job.status == ImportJob.Status.DONE and state() == before
    page = client.get(r.url).content.decode()
    assert "预览：尚未写入任何数据" in page and "确认导入" in page
    assert "T-ZZ002-CTCC" in page and "2024-06-30" in page and "终止" in page
    assert "新增 1，变更 2（其中终止 1），删除 0，未变 1" in page
    r = client.post(reverse("import_confirm", args=[job.pk]))
    stored = ImportJob.objects.exclude(pk=job.pk).get()
    assert r.url == reverse("import_job", args=[stored.pk])
    assert stored.status == ImportJob.Status.DONE and not stored.preview
    assert (stored.created, stored.updated, stored.reason) == (1, 2, "服务终止")
    assert Tenancy.objects.get(tenancy_id="T-ZZ002-CTCC").end_date == date(2024, 6, 30)
    # another clerk cannot confirm somebody else's preview
    client.force_login(users["clerk_ly"])
    assert client.post(reverse("import_confirm", args=[job.pk])).status_code == 404
