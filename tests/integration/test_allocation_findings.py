"""Allocation findings are audit flags (issue 12): a DC_CURRENT site with a tenancy that has
no DC current falls back (FALLBACK) on payment; the finding is a Flag on the bill with its
figures, in the audit queue and on the bill and line pages; allocating again adds none; a
province that BLOCKs it holds the lines until a clerk resolves it, then pushes them."""

from datetime import date
from decimal import Decimal

from django.utils import timezone

from tests.integration.test_bills import GRID, MAY, bill, import_bills
from towerledger.analysis import kpi
from towerledger.analysis.books import check_books
from towerledger.bills import services as bill_services
from towerledger.bills.models import AuditRuleSetting, Flag
from towerledger.ledger.models import JournalEntry
from towerledger.settlement.allocate import allocate_bills
from towerledger.settlement.models import Line
from towerledger.sites.models import Site, Tenancy

D = Decimal


def _without_dc_current():
    """CTCC's tenancy on ZZ001 has no DC current: the DC_CURRENT site must fall back."""
    Tenancy.objects.filter(tenancy_id="T-ZZ001-CTCC").update(dc_current_a=None)


def _pay_may(tmp_path, users):
    assert import_bills(tmp_path, [MAY, GRID]).stored
    b = bill("A-100", "B-2405")
    result = bill_services.pay_bills([b.pk], users["clerk_zz"], timezone.localdate(),
                                     reason="test")
    assert result.paid == [b.pk]
    return b


def test_a_fallback_on_payment_is_a_flag_on_the_bill(province, users, tmp_path, client):
    _without_dc_current()
    b = _pay_may(tmp_path, users)
    flag = Flag.objects.get(bill=b, code="FALLBACK")
    assert flag.severity == "WARN" and flag.status == "OPEN"
    assert flag.figures["sites"][0]["site"] == "ZZ001"
    assert "T-ZZ001-CTCC" in flag.figures["sites"][0]["message"]
    assert "分摊方式回退" in flag.message_zh and "fell back" in flag.message_en
    b.refresh_from_db()
    assert b.warnings >= 1
    # WARN: allocated and pushed as usual
    assert Line.objects.filter(bill=b).pending().count() == 3
    assert check_books() == []

    client.force_login(users["clerk_zz"])
    page = client.get(f"/bills/{b.pk}/").content.decode()
    assert "分摊方式回退" in page and "T-ZZ001-CTCC" in page
    queue = client.get("/flags/?rule=FALLBACK").content.decode()
    assert "分摊方式回退" in queue and "B-2405" in queue
    line = Line.objects.filter(bill=b, tenancy__tenancy_id="T-ZZ001-CMCC").get()
    assert "分摊方式回退" in client.get(f"/lines/{line.pk}/").content.decode()


def test_allocating_twice_stores_one_finding(province, users, tmp_path):
    _without_dc_current()
    b = _pay_may(tmp_path, users)
    allocate_bills([b.pk])
    allocate_bills()
    assert Flag.objects.filter(bill=b, code="FALLBACK").count() == 1
    # and a re-audit of the bill leaves the allocation's finding in place
    bill_services.reaudit([b.pk], users["admin"])
    assert Flag.objects.filter(bill=b, code="FALLBACK").count() == 1


def test_a_blocking_finding_holds_the_lines_until_resolved(province, users, tmp_path, client):
    _without_dc_current()
    henan = Site.objects.get(site_code="ZZ001").county.city.province
    AuditRuleSetting.objects.create(province=henan, code="FALLBACK", severity="BLOCK")
    b = _pay_may(tmp_path, users)
    flag = Flag.objects.get(bill=b, code="FALLBACK")
    assert flag.severity == "BLOCK"
    lines = Line.objects.filter(bill=b)
    assert lines.held().count() == lines.count() == 4
    assert lines.pending().count() == 0
    assert not JournalEntry.objects.filter(kind="ALLOCATION", reference=f"B{b.pk}").exists()
    # the operators do not see held lines; the clerk sees them held on the bill page
    assert not Line.objects.filter(bill=b).of_operators().exists()
    client.force_login(users["clerk_zz"])
    assert client.get(f"/bills/{b.pk}/").content.decode().count("稽核暂缓") == 4
    assert check_books() == []

    bill_services.resolve_flag(flag.pk, users["clerk_zz"], "CTCC 电流稍后补录，按平均分摊")
    assert lines.held().count() == 0
    assert lines.pending().count() == 3 and lines.tower_borne().count() == 1
    today = timezone.localdate()
    assert set(lines.pending().values_list("push_date", flat=True)) == {today}
    assert JournalEntry.objects.filter(kind="ALLOCATION", reference=f"B{b.pk}").exists()
    assert check_books() == []
    # allocating again changes nothing, and the resolved finding stays resolved
    allocate_bills([b.pk])
    assert Flag.objects.get(pk=flag.pk).status == "RESOLVED"
    assert sum(ln.cost_share for ln in lines) == D("4752.00")


def test_the_dashboard_counts_allocation_findings_by_rule(province, users, tmp_path, client):
    _without_dc_current()
    _pay_may(tmp_path, users)
    rows = kpi.compute(date(2024, 5, 1))
    site = next(r for r in rows if r["level"] == "SITE" and r["key"] == "ZZ001"
                and r["operator"] == "*")
    assert site["figures"]["flags_FALLBACK"] == 1
    whole = next(r for r in rows if r["level"] == "PROVINCE" and r["operator"] == "*")
    assert whole["figures"]["flags_FALLBACK"] == 1


def test_whitelisting_a_blocking_finding_also_pushes_the_held_lines(province, users, tmp_path):
    _without_dc_current()
    henan = Site.objects.get(site_code="ZZ001").county.city.province
    AuditRuleSetting.objects.create(province=henan, code="FALLBACK", severity="BLOCK")
    b = _pay_may(tmp_path, users)
    flag = Flag.objects.get(bill=b, code="FALLBACK")
    assert Line.objects.filter(bill=b).held().count() == 4
    bill_services.whitelist_flag(flag.pk, users["clerk_zz"], "该户号按平均分摊已与运营商确认")
    assert Line.objects.filter(bill=b).held().count() == 0
    assert Line.objects.filter(bill=b).pending().count() == 3
    assert check_books() == []


def test_a_finding_switched_off_for_the_province_is_not_stored(province, users, tmp_path):
    _without_dc_current()
    henan = Site.objects.get(site_code="ZZ001").county.city.province
    AuditRuleSetting.objects.create(province=henan, code="FALLBACK", enabled=False)
    b = _pay_may(tmp_path, users)
    assert not Flag.objects.filter(bill=b, code="FALLBACK").exists()
    assert Line.objects.filter(bill=b).pending().count() == 3
