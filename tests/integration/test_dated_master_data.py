"""Dated agreed ratios (issue 12, DOMAIN.md §3) through the real imports, payment and
allocation: a termination on a FIXED_RATIO site is stored and the next bill renormalises
over the tenancies left; a ratio change mid-period cuts the period day by day; a sum ≠ 100
is a WARN finding (RATIO_SUM) and still allocates; a change never rewrites a pushed line;
ties on the odd fen go by tenancy code whatever the database ids."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.helpers import ACCOUNTS_HEADER, RULES_HEADER, SITES_HEADER, TENANCIES_HEADER, write_csv
from tests.integration.test_bills import bill, import_bills
from towerledger.analysis.books import check_books
from towerledger.bills import services as bill_services
from towerledger.bills.models import Flag
from towerledger.exchange.services import run_import
from towerledger.org.models import Operator
from towerledger.settlement.allocate import allocate_bills
from towerledger.settlement.models import Line
from towerledger.sites.models import Site, Tenancy, TenancyRatio

D = Decimal
RATIO_HEADER = [*TENANCIES_HEADER, "effective_from"]


def imp(tmp_path, kind, header, rows, name):
    result = run_import(kind, write_csv(tmp_path / name, header, rows))
    assert result.stored, [e.text() for e in result.errors]
    return result


def a_bill(no, account, start, end, amount):
    """A grid bill with no readings: kWh = amount (price 1.00), SPECIAL_13 (f = 0)."""
    return [no, account, start, end, "", "", "", "", amount, "1.00", amount, "", "SPECIAL_13",
            "", ""]


def pay(tmp_path, users, row, name):
    assert import_bills(tmp_path, [row], name=name).stored
    b = bill(row[1], row[0])
    result = bill_services.pay_bills([b.pk], users["clerk_zz"], timezone.localdate(),
                                     reason="test")
    assert result.paid == [b.pk]
    return b


def shares(b) -> dict[str, Decimal]:
    return dict(Line.objects.filter(bill=b, tenancy__isnull=False)
                .values_list("tenancy__tenancy_id", "cost_share"))


@pytest.fixture
def zz002_alone(province, tmp_path):
    """Account A-902 feeds FIXED_RATIO site ZZ002 alone (the helpers' A-200 splits it)."""
    imp(tmp_path, "accounts", ACCOUNTS_HEADER, [
        ["A-902", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "", "", "1", "1", "ZZ002",
         "100"]], "a902.csv")


def test_terminating_a_tenancy_on_a_fixed_ratio_site_renormalises_the_next_bill(
        zz002_alone, users, tmp_path):
    # ZZ002 by FIXED_RATIO: CMCC 50 / CTCC 30 / CUCC 20 (CMCC and CTCC were 60 / 40)
    imp(tmp_path, "tenancies", TENANCIES_HEADER, [
        ["T-ZZ002-CMCC", "ZZ002", "CMCC", "2023-06-01", "", "ON_BEHALF", "", "1300", "20", "50"],
        ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "", "RESALE", "", "1300", "20", "30"],
        ["T-ZZ002-CUCC", "ZZ002", "CUCC", "2023-06-01", "", "RESALE", "", "1300", "20", "20"],
    ], "three.csv")
    # 服务终止: CUCC ends 2024-04-30 — the file is stored, not refused for a sum of 80
    end = imp(tmp_path, "tenancies", TENANCIES_HEADER, [
        ["T-ZZ002-CUCC", "ZZ002", "CUCC", "2023-06-01", "2024-04-30", "RESALE", "", "1300",
         "20", ""]], "end.csv")
    assert end.counts.updated == 1
    assert Tenancy.objects.get(tenancy_id="T-ZZ002-CUCC").end_date == date(2024, 4, 30)
    b = pay(tmp_path, users, a_bill("G-902-05", "A-902", "2024-05-01", "2024-05-31",
                                    "1000.00"), "may.csv")
    # 50 / 30 renormalised over the two left: 62.5 % / 37.5 %
    assert shares(b) == {"T-ZZ002-CMCC": D("625.00"), "T-ZZ002-CTCC": D("375.00")}
    assert Line.objects.filter(bill=b, tenancy__isnull=True).get().cost_share == D("0.00")
    # the sum of 80 is a WARN finding on the bill, and the lines are pushed all the same
    flag = Flag.objects.get(bill=b, code="RATIO_SUM")
    assert flag.severity == "WARN" and flag.status == "OPEN"
    assert "80%" in flag.figures["sites"][0]["message"]
    assert Line.objects.filter(bill=b, tenancy__isnull=False).pending().count() == 2
    assert check_books() == []


def test_a_ratio_change_mid_period_cuts_the_bill_day_by_day(zz002_alone, users, tmp_path):
    # CMCC 60 / CTCC 40 from the start; 70 / 30 from 2024-05-11 (the effective_from column)
    imp(tmp_path, "tenancies", RATIO_HEADER, [
        ["T-ZZ002-CMCC", "ZZ002", "CMCC", "2023-06-01", "", "ON_BEHALF", "", "1300", "20", "70",
         "2024-05-11"],
        ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "", "RESALE", "", "1300", "20", "30%",
         "2024-05-11"],
    ], "change.csv")
    cmcc = Tenancy.objects.get(tenancy_id="T-ZZ002-CMCC")
    assert list(cmcc.ratios.values_list("effective_from", "agreed_ratio")) == [
        (date(2023, 6, 1), D(60)), (date(2024, 5, 11), D(70))]
    assert cmcc.agreed_ratio == D(70)   # the ratio in force last, for the pages
    b = pay(tmp_path, users, a_bill("G-902-05", "A-902", "2024-05-01", "2024-05-31",
                                    "1000.00"), "may.csv")
    # by hand: days 1–10 at 60/40, days 11–31 at 70/30 over 31 days
    #   CMCC 1000 × (10×0.6 + 21×0.7)/31 = 20700/31 = 667.741935… → 667.74
    #   CTCC 1000 × (10×0.4 + 21×0.3)/31 = 10300/31 = 332.258064… → 332.25, and the odd fen
    #   (remainder .806 beats .194) → 332.26
    assert shares(b) == {"T-ZZ002-CMCC": D("667.74"), "T-ZZ002-CTCC": D("332.26")}
    line = Line.objects.get(bill=b, tenancy=cmcc)
    assert [(r["from"], r["to"], r["share_of_day"]) for r in line.trace["daily_shares"]] \
        == [("2024-05-01", "2024-05-10", "3/5"), ("2024-05-11", "2024-05-31", "7/10")]
    assert not Flag.objects.filter(bill=b, code="RATIO_SUM").exists()   # 100 on every day


def test_a_sum_other_than_100_warns_and_still_allocates(zz002_alone, users, tmp_path):
    imp(tmp_path, "tenancies", TENANCIES_HEADER, [
        ["T-ZZ002-CUCC", "ZZ002", "CUCC", "2024-01-01", "", "RESALE", "", "1300", "20", "20"],
    ], "extra.csv")   # 60 + 40 + 20 = 120: stored
    b = pay(tmp_path, users, a_bill("G-902-05", "A-902", "2024-05-01", "2024-05-31",
                                    "1200.00"), "may.csv")
    assert shares(b) == {"T-ZZ002-CMCC": D("600.00"), "T-ZZ002-CTCC": D("400.00"),
                         "T-ZZ002-CUCC": D("200.00")}
    flag = Flag.objects.get(bill=b, code="RATIO_SUM")
    assert flag.severity == "WARN" and "120%" in flag.message_en
    assert "约定比例合计不为100%" in flag.message_zh


def test_a_ratio_change_never_rewrites_a_pushed_line(zz002_alone, users, tmp_path):
    may = pay(tmp_path, users, a_bill("G-902-05", "A-902", "2024-05-01", "2024-05-31",
                                      "1000.00"), "may.csv")
    before = list(Line.objects.filter(bill=may).order_by("pk").values_list(
        "pk", "tenancy__tenancy_id", "cost_share", "receivable", "status"))
    assert shares(may) == {"T-ZZ002-CMCC": D("600.00"), "T-ZZ002-CTCC": D("400.00")}
    # a retroactive change, effective before May, then allocation runs again
    imp(tmp_path, "tenancies", RATIO_HEADER, [
        ["T-ZZ002-CMCC", "ZZ002", "CMCC", "2023-06-01", "", "ON_BEHALF", "", "1300", "20", "50",
         "2024-05-01"],
        ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "", "RESALE", "", "1300", "20", "50",
         "2024-05-01"],
    ], "change.csv")
    allocate_bills()
    assert list(Line.objects.filter(bill=may).order_by("pk").values_list(
        "pk", "tenancy__tenancy_id", "cost_share", "receivable", "status")) == before
    # the next bill takes the new ratios
    june = pay(tmp_path, users, a_bill("G-902-06", "A-902", "2024-06-01", "2024-06-30",
                                       "1000.00"), "june.csv")
    assert shares(june) == {"T-ZZ002-CMCC": D("500.00"), "T-ZZ002-CTCC": D("500.00")}
    assert TenancyRatio.objects.filter(tenancy__tenancy_id="T-ZZ002-CMCC").count() == 2


# ---- ties on the odd fen: by tenancy code, whatever the import order ------------------

TIE_TENANCIES = [
    ["T-ZZ009-A", "ZZ009", "CTCC", "2024-01-01", "", "ON_BEHALF", "", "", "", ""],
    ["T-ZZ009-B", "ZZ009", "CMCC", "2024-01-01", "", "ON_BEHALF", "", "", "", ""],
    ["T-ZZ009-C", "ZZ009", "CUCC", "2024-01-01", "", "ON_BEHALF", "", "", "", ""],
]


@pytest.mark.parametrize("order", ["as_listed", "reversed_after_dummies"])
def test_the_same_master_data_in_any_order_gives_the_same_lines(province, users, tmp_path,
                                                               order):
    """Each run is a fresh database; the other order's lines are the same literal list, so
    the two databases' lines are compared through it. Reversed, the lowest code gets the
    highest id (dummy tenancies shift the ids further): the old key (database id) gave the
    odd fen to T-ZZ009-C there."""
    rows = list(TIE_TENANCIES)
    sites = [["ZZ009", "金水九号", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""]]
    if order != "as_listed":
        rows.reverse()
        sites.append(["ZZ010", "占位", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""])
    imp(tmp_path, "sites", SITES_HEADER, sites, "s.csv")
    if order != "as_listed":
        cmcc = Operator.objects.get(code="CMCC")
        Tenancy.objects.bulk_create([Tenancy(
            tenancy_id=f"DUMMY-{i}", site=Site.objects.get(site_code="ZZ010"), operator=cmcc,
            start_date=date(2024, 1, 1), settlement_mode="ON_BEHALF") for i in range(5)])
    imp(tmp_path, "tenancies", TENANCIES_HEADER, rows, "t.csv")
    imp(tmp_path, "rules", RULES_HEADER, [["ZZ009", "2024-01-01", "EQUAL", "", "", "0"]],
        "r.csv")
    imp(tmp_path, "accounts", ACCOUNTS_HEADER, [
        ["A-909", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "", "", "1", "1", "ZZ009",
         "100"]], "a.csv")
    pks = dict(Tenancy.objects.filter(site__site_code="ZZ009").values_list("tenancy_id", "pk"))
    assert (pks["T-ZZ009-A"] < pks["T-ZZ009-C"]) == (order == "as_listed")
    b = pay(tmp_path, users, a_bill("G-909-05", "A-909", "2024-05-01", "2024-05-31",
                                    "100.00"), "may.csv")
    lines = sorted(Line.objects.filter(bill=b, tenancy__isnull=False).values_list(
        "operator__code", "tenancy__tenancy_id", "cost_share", "receivable"))
    assert lines == [("CMCC", "T-ZZ009-B", D("33.33"), D("33.33")),
                     ("CTCC", "T-ZZ009-A", D("33.34"), D("33.34")),
                     ("CUCC", "T-ZZ009-C", D("33.33"), D("33.33"))]
