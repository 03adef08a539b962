"""拆站 on the small province: ZZ001 (account A-100, 100 %; CMCC, CUCC, CTCC) is
decommissioned on 2024-06-15 through the checklist; it cannot be archived while May's bill is
unpaid; the tenancies end through the tenancies import (June allocates to the operators only
up to the 15th); once archived, July's bill is held by SITE_ARCHIVED and tenancy rows for
the site are refused; reopening lifts both."""

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from tests.helpers import TENANCIES_HEADER, write_csv
from tests.integration.test_bills import MAY, bill, import_bills
from towerledger.access.models import AuditEntry
from towerledger.bills import services as bill_services
from towerledger.bills.models import Flag
from towerledger.domain.codes import SiteStatus
from towerledger.exchange.services import run_import
from towerledger.programs.decommission import services as svc
from towerledger.programs.decommission.models import CaseEvent
from towerledger.settlement.models import Line
from towerledger.sites.models import Site, Tenancy

D = Decimal
DAY = date(2024, 6, 15)
JUNE = ["B-2406", "A-100", "2024-06-01", "2024-06-30", "14320", "18500", "1", "", "4180",
        "1.10", "4598.00", "", "GENERAL", "2024-07-02", "PAY-2406"]
JULY = ["B-2407", "A-100", "2024-07-01", "2024-07-31", "18500", "18600", "1", "", "100",
        "1.10", "110.00", "", "GENERAL", "2024-08-02", "PAY-2407"]


def open_items(case):
    return {s.code: [en for _, en in s.open] for s in svc.checklist(case)}


@pytest.mark.django_db
def test_decommission_checklist_archive_and_after(users, tmp_path):
    clerk = users["clerk_zz"]
    assert import_bills(tmp_path, [MAY], name="may.csv").stored   # unpaid
    case = svc.request(clerk, "ZZ001", DAY, "业主收回场地")
    items = open_items(case)
    assert len(items["TENANCIES"]) == 3
    assert items["READINGS"] == ["account A-100 has no final meter reading"]
    assert "bill B-2405 of account A-100 is not paid" in items["BILLS"]
    assert items["ACCOUNTS"] == ["account A-100 is not closed"]

    with pytest.raises(svc.DecommissionError) as refused:
        svc.archive(clerk, case.pk, "试归档")
    assert "B-2405" in refused.value.en
    assert Site.objects.get(site_code="ZZ001").status == SiteStatus.ACTIVE
    # another city's clerk does not see the case
    with pytest.raises(svc.DecommissionError):
        svc.end_tenancies(users["clerk_ly"], case.pk, "越权")

    # the tenancies end on the date through the tenancies import
    assert svc.end_tenancies(clerk, case.pk, "运营商退租") == 3
    assert set(Tenancy.objects.filter(site__site_code="ZZ001")
               .values_list("end_date", flat=True)) == {DAY}
    assert AuditEntry.objects.filter(action="import", object_type="tenancies").exists()
    assert open_items(case)["TENANCIES"] == []

    # June allocates to the operators up to the 15th: 15/30 of 4,598.00; the rest is borne
    assert import_bills(tmp_path, [JUNE], name="june.csv").stored
    june = bill("A-100", "B-2406")
    ops = Line.objects.filter(bill=june, operator__isnull=False).aggregate(s=Sum("cost_share"))
    assert ops["s"] == D("2299.00")
    tower = Line.objects.filter(bill=june, operator__isnull=True).aggregate(s=Sum("cost_share"))
    assert tower["s"] == D("2299.00")

    # May is paid (and allocated at once): the bills are settled up to the date
    bill_services.pay_bills([bill("A-100", "B-2405").pk], clerk, date(2024, 7, 5), "补缴")
    assert open_items(case)["BILLS"] == []
    with pytest.raises(svc.DecommissionError):
        svc.close_account(clerk, case.pk, "A-100", date(2024, 6, 20), "销户")   # no reading
    svc.record_reading(clerk, case.pk, "A-100", D("18500"), date(2024, 6, 15), "最终抄表")
    svc.close_account(clerk, case.pk, "A-100", date(2024, 6, 20), "供电局销户")
    assert svc.terminate_rent(clerk, case.pk, "无场租") == 0
    assert all(s.done for s in svc.checklist(case) if s.code != "ARCHIVE")

    svc.archive(clerk, case.pk, "拆站完成")
    site = Site.objects.get(site_code="ZZ001")
    assert (site.status, site.decommission_date) == (SiteStatus.ARCHIVED, DAY)
    steps = list(CaseEvent.objects.filter(case=case).values_list("step", "user__username"))
    assert [s for s, _ in steps] == ["REQUEST", "REFUSED", "TENANCIES", "READINGS", "ACCOUNTS",
                                     "RENT", "ARCHIVE"]
    assert {u for _, u in steps} == {"clerk_zz"}

    # a later bill for the site is flagged SITE_ARCHIVED (BLOCK) and not allocated
    assert import_bills(tmp_path, [JULY], name="july.csv").stored
    july = bill("A-100", "B-2407")
    flag = Flag.objects.get(bill=july, code="SITE_ARCHIVED")
    assert (flag.severity, flag.status, july.status) == ("BLOCK", "OPEN", "UNPAID")
    assert flag.figures["sites"] == ["ZZ001"]
    assert not Line.objects.filter(bill=july).exists()

    # tenancy rows for the archived site are refused; a row ending one by the date is not
    new = ["T-ZZ001-CBN", "ZZ001", "CBN", "2024-07-01", "", "RESALE", "", "1300", "10", ""]
    result = run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER, [new]),
                        clerk)
    assert not result.stored
    assert [(e.column, "archived" in e.en) for e in result.errors] == [("site_code", True)]
    fix = ["T-ZZ001-CMCC", "ZZ001", "CMCC", "2024-01-01", "2024-06-10", "RESALE", "", "3500",
           "40", ""]
    assert run_import("tenancies", write_csv(tmp_path / "f.csv", TENANCIES_HEADER, [fix]),
                      clerk).stored

    # reopened with a reason: the site is active again and July's hold is lifted
    svc.reopen(clerk, case.pk, "运营商重新进场")
    assert Site.objects.get(site_code="ZZ001").status == SiteStatus.ACTIVE
    assert not Flag.objects.filter(bill=july, code="SITE_ARCHIVED", status="OPEN").exists()
    assert CaseEvent.objects.filter(case=case, step="REOPEN", reason="运营商重新进场").exists()


@pytest.mark.django_db
def test_rent_due_blocks_the_archive_until_terminated_and_paid(users):
    """A yearly rent of 12,000.00 paid in advance from 2024-01-01: terminated on 2024-06-15,
    the 2024 item is prorated to 167 of 366 days = 5,475.41 (half-up), the later years are
    cancelled; while it is unpaid the site cannot be archived."""
    rent_services = pytest.importorskip("towerledger.programs.rent.services")
    from towerledger.programs.rent.models import RentContract

    clerk = users["clerk_zz"]
    site = Site.objects.get(site_code="ZZ001")
    contract = rent_services.save_contract(
        "RC-ZZ001", user=clerk, site=site, start_date=date(2024, 1, 1),
        end_date=date(2026, 12, 31), annual_rent=D("12000.00"), cycle="YEARLY",
        timing="ADVANCE")
    case = svc.request(clerk, "ZZ001", DAY, "业主收回场地")
    rent = open_items(case)["RENT"]
    assert any("RC-ZZ001 item 1" in en for en in rent)
    assert svc.terminate_rent(clerk, case.pk, "场租合同终止") == 1
    assert RentContract.objects.get(pk=contract.pk).terminated_on == DAY
    items = {i.seq: i for i in contract.items.all()}
    assert (items[1].amount, items[1].period_end) == (D("5475.41"), DAY)
    assert items[2].cancelled and items[3].cancelled
    assert [en for en in open_items(case)["RENT"]] == [
        "rent contract RC-ZZ001 item 1 (2024-01-01..2024-06-15): 5475.41 yuan due "
        "2024-01-01, unpaid"]
    with pytest.raises(svc.DecommissionError) as refused:
        svc.archive(clerk, case.pk, "试归档")
    assert "RC-ZZ001 item 1" in refused.value.en
    rent_services.record_payment(contract, payment_no="RP-ZZ001-1", paid_date=date(2024, 7, 1),
                                 seq=1, user=clerk)
    assert open_items(case)["RENT"] == []
    # once archived, a rent payment for the site's contract is refused by the import
    Site.objects.filter(pk=site.pk).update(status=SiteStatus.ARCHIVED, decommission_date=DAY)
    path = write_csv(Path(tempfile.mkdtemp()) / "rp.csv",
                     ["payment_no", "contract_no", "seq", "kind", "paid_date", "amount",
                      "reference"], [["RP-ZZ001-2", "RC-ZZ001", "2", "RENT", "2024-07-02", "",
                                      ""]])
    result = run_import("rent_payments", path, clerk)
    assert not result.stored
    assert ("contract_no", True) in [(e.column, "archived" in e.en) for e in result.errors]


@pytest.mark.django_db
def test_api_lists_cases_with_their_checklist_in_scope(users, client):
    from towerledger.api.tokens import create_token

    case = svc.request(users["clerk_zz"], "ZZ001", DAY, "业主收回场地")

    def get(user, url):
        token = create_token(users[user], f"{user} system")[1]
        return client.get(url, headers={"Authorization": f"Bearer {token}"})

    listed = get("clerk_zz", "/api/v1/decommissions").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert (item["site_code"], item["status"], item["decommission_date"]) == (
        "ZZ001", "OPEN", "2024-06-15")
    steps = {s["code"]: s for s in item["checklist"]}
    assert len(steps["TENANCIES"]["open"]) == 3 and steps["REQUEST"]["done"]
    detail = get("admin", f"/api/v1/decommissions/{case.pk}").json()
    assert [e["step"] for e in detail["events"]] == ["REQUEST"]
    assert get("clerk_ly", "/api/v1/decommissions").json()["count"] == 0
    assert get("clerk_ly", f"/api/v1/decommissions/{case.pk}").status_code == 404
    assert get("cmcc", "/api/v1/decommissions").status_code == 403


@pytest.mark.django_db
def test_sites_import_neither_archives_nor_reopens(province, tmp_path):
    from tests.helpers import SITES, SITES_HEADER

    Site.objects.filter(site_code="ZZ002").update(status=SiteStatus.ARCHIVED,
                                                  decommission_date=DAY)
    rows = [list(r) for r in SITES]
    refused = run_import("sites", write_csv(tmp_path / "s.csv", SITES_HEADER, rows))
    assert [(e.row, e.column) for e in refused.errors] == [(3, "status")]   # ZZ002 reopened
    rows[1][7:9] = ["ARCHIVED", "2024-06-15"]
    rows[0][7:9] = ["ARCHIVED", "2024-06-15"]
    refused = run_import("sites", write_csv(tmp_path / "s2.csv", SITES_HEADER, rows))
    assert [(e.row, "checklist" in e.en) for e in refused.errors] == [(2, True)]
    rows[0][7:9] = ["", ""]
    assert run_import("sites", write_csv(tmp_path / "s3.csv", SITES_HEADER, rows)).stored
