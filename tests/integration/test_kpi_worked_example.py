"""The user guide's worked KPI example (docs/user-guide.md, 月度分析指标), built through the
services: the reference gives the hand-computed numbers, and so must the product's
``kpi.compute``. One site, three operators, May 2024:

* bill B-2404 (4,752.00, the DOMAIN §3 example) paid 10 May and pushed the same day:
  CMCC 2,684.88, CUCC 1,678.05; CTCC is on a lump sum, so its metered share is tower-borne;
* CMCC confirms on 12 May; CUCC disputes, the tower partly accepts 1,500.00 on 20 May,
  CUCC confirms that on 25 May; CTCC's lump sum of 600.00 is pushed 31 May, never
  answered, and deemed confirmed on 11 June;
* CUCC pays 1,800.00 on 28 May (1,500.00 applied, 300.00 left unapplied); CMCC pays
  2,684.88 on 2 June, two days after month end;
* the month is read on 31 May (live) and closed on 15 June.
"""

from datetime import date
from decimal import Decimal

import pytest

from tests.reference import kpi_reference as ref
from tests.reference.builders import (
    BILL_HEADER,
    RECEIPT_HEADER,
    at,
    import_file,
    import_master,
    staff_and_operators,
)
from towerledger.bills import services as bill_services
from towerledger.bills.models import Bill
from towerledger.collection.models import MatchSetting
from towerledger.org.models import Province
from towerledger.settlement.allocate import allocate_bills
from towerledger.settlement.models import Dispute, Line
from towerledger.settlement.services import (
    answer_dispute,
    confirm_lines,
    dispute_line,
    lump_sums,
    run_deadlines,
)

D = Decimal
MAY = date(2024, 5, 1)
MAY31, CLOSE = date(2024, 5, 31), date(2024, 6, 15)

SITES = [["WX001", "示例站", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""]]
TENANCIES = [
    ["T-WX-CMCC", "WX001", "CMCC", "2024-01-01", "", "RESALE", "", "", "40", ""],
    ["T-WX-CUCC", "WX001", "CUCC", "2024-01-01", "", "RESALE", "", "", "25", ""],
    ["T-WX-CTCC", "WX001", "CTCC", "2024-01-01", "", "LUMP_SUM", "600", "", "15", ""],
]
RULES = [["WX001", "2024-01-01", "DC_CURRENT", "EQUAL", "PRO_RATA", "0"]]
ACCOUNTS = [["A-WX", "RESUPPLY", "LANDLORD", "王五", "GENERAL", "1.10", "1.50", "1", "1",
             "WX001", "100"]]

# The hand-computed figures of the user guide's table: as of 31 May, and at the close.
HAND = {
    MAY31: {"chains": 3, "chains_amount": "4784.88", "confirmed_amount": "4184.88",
            "deemed_amount": "0.00", "written_off_amount": "1500.00",
            "outstanding": "3284.88", "age_0_30": "3284.88", "arrears_base": "4784.88",
            "t0_lines": 2, "t0_base": 2, "receipts_amount": "1800.00",
            "receipts_applied": "1500.00", "year_receivable": "4184.88",
            "year_written_off": "1500.00"},
    CLOSE: {"chains": 3, "chains_amount": "4784.88", "confirmed_amount": "4784.88",
            "deemed_amount": "600.00", "written_off_amount": "4184.88",
            "outstanding": "3284.88", "age_0_30": "3284.88", "arrears_base": "4784.88",
            "t0_lines": 2, "t0_base": 2, "receipts_amount": "1800.00",
            "receipts_applied": "1500.00", "year_receivable": "4184.88",
            "year_written_off": "4184.88"},
}
# per operator at the close
HAND_OPERATORS = {
    "CMCC": {"chains_amount": "2684.88", "confirmed_amount": "2684.88",
             "written_off_amount": "2684.88", "outstanding": "2684.88",
             "arrears_base": "2684.88", "t0_lines": 1, "t0_base": 1,
             "receipts_amount": "0.00", "year_receivable": "2684.88"},
    "CUCC": {"chains_amount": "1500.00", "confirmed_amount": "1500.00",
             "written_off_amount": "1500.00", "outstanding": "0.00",
             "arrears_base": "1500.00", "t0_lines": 1, "t0_base": 1,
             "receipts_amount": "1800.00", "receipts_applied": "1500.00",
             "year_receivable": "1500.00"},
    "CTCC": {"chains_amount": "600.00", "confirmed_amount": "600.00",
             "deemed_amount": "600.00", "written_off_amount": "0.00",
             "outstanding": "600.00", "arrears_base": "600.00", "t0_lines": 0,
             "t0_base": 0, "year_receivable": "0.00"},
}
# the rates of the table, to 4 decimals
HAND_RATES = {
    MAY31: {"confirmation": "0.8746", "recovery": "0.3135", "arrears": "0.6865",
            "t0": "1.0000", "receipt_write_off": "0.8333", "same_year_clearing": "0.3584"},
    CLOSE: {"confirmation": "1.0000", "recovery": "0.8746", "arrears": "0.6865",
            "t0": "1.0000", "receipt_write_off": "0.8333", "same_year_clearing": "1.0000"},
}
RATE_OF = {"confirmation": ("confirmed_amount", "chains_amount"),
           "recovery": ("written_off_amount", "chains_amount"),
           "arrears": ("outstanding", "arrears_base"), "t0": ("t0_lines", "t0_base"),
           "receipt_write_off": ("receipts_applied", "receipts_amount"),
           "same_year_clearing": ("year_written_off", "year_receivable")}


@pytest.fixture
def worked_month(db, tmp_path, settings):
    """The month of the user guide's example, replayed through the services."""
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False     # pushed on the example's own calendar
    import_master(tmp_path, SITES, TENANCIES, RULES, ACCOUNTS)
    for p in Province.objects.all():                 # the province matches oldest first
        MatchSetting.objects.update_or_create(province=p, defaults={"oldest_first": True})
    users = staff_and_operators()
    import_file(tmp_path, "bills", BILL_HEADER, [
        ["B-2404", "A-WX", "2024-04-01", "2024-04-30", "10000", "14320", "1", "", "4320",
         "1.10", "4752.00", "", "GENERAL", "", ""]], "bills.csv")
    bill = Bill.objects.get(bill_no="B-2404")
    paid = bill_services.pay_bills([bill.pk], users["admin"], date(2024, 5, 10), reason="例")
    assert paid.paid == [bill.pk]
    allocate_bills([bill.pk], today=date(2024, 5, 10))               # T+0

    def line(code, **kw):
        return Line.objects.get(operator__code=code, **kw)

    cmcc = line("CMCC", kind="ALLOCATION")
    cucc = line("CUCC", kind="ALLOCATION")
    assert (cmcc.receivable, cucc.receivable) == (D("2684.88"), D("1678.05"))
    assert line("CTCC", kind="ALLOCATION").receivable == D("0.00")   # tower-borne share
    confirm_lines([cmcc.pk], users["CMCC"], today=date(2024, 5, 12), at=at(date(2024, 5, 12), 10))
    d = dispute_line(cucc.pk, users["CUCC"], "KWH", "读数不符", today=date(2024, 5, 13),
                     at=at(date(2024, 5, 13), 9))
    adj = answer_dispute(d.pk, users["admin"], "PARTIAL", "核实后部分接受",
                         new_amount=D("1500.00"), today=date(2024, 5, 20),
                         at=at(date(2024, 5, 20), 16))
    confirm_lines([adj.pk], users["CUCC"], today=date(2024, 5, 25), at=at(date(2024, 5, 25), 10))
    import_file(tmp_path, "receipts", RECEIPT_HEADER,
                [["HK-0528", "CUCC", "郑州市", "1800.00", "2024-05-28", "电费"]], "r1.csv")
    assert lump_sums(MAY, today=MAY31) == 1                          # CTCC 600.00
    import_file(tmp_path, "receipts", RECEIPT_HEADER,
                [["HK-0602", "CMCC", "郑州市", "2684.88", "2024-06-02", "电费"]], "r2.csv")
    run_deadlines(CLOSE)                                             # the close's deadlines
    lump = line("CTCC", kind="LUMP_SUM")
    assert lump.receivable == D("600.00") and lump.deemed
    assert Dispute.objects.get().status == Dispute.Status.PARTIAL
    return users


def figures_of(rows, level="PROVINCE", key="河南省", operator="*"):
    return ref.by_scope(rows).get((level, key, operator), {})


def assert_figures(found: dict, expected: dict, where: str):
    wrong = {name: (found.get(name, 0), want) for name, want in expected.items()
             if D(str(found.get(name, 0))) != D(str(want))}
    assert not wrong, f"{where}: (found, hand-computed) {wrong}"


@pytest.mark.parametrize("as_of", [MAY31, CLOSE], ids=["31-May", "closed-15-June"])
def test_the_reference_gives_the_hand_computed_figures(worked_month, as_of):
    rows = ref.compute(MAY, as_of)
    province = figures_of(rows)
    assert_figures(province, HAND[as_of], f"province as of {as_of}")
    # one site in one county of one city: every scope reads the same
    for level, key in (("CITY", "郑州市"), ("COUNTY", "郑州市/金水区"), ("SITE", "WX001")):
        same = {k: v for k, v in HAND[as_of].items()
                if level == "CITY" or not k.startswith("receipts")}
        assert_figures(figures_of(rows, level, key), same, f"{level} as of {as_of}")
    for name, (num, den) in RATE_OF.items():
        assert ref.rate(province[num], province[den]) == D(HAND_RATES[as_of][name]), name
    if as_of == CLOSE:
        for op, expected in HAND_OPERATORS.items():
            assert_figures(figures_of(rows, operator=op), expected, f"{op} at the close")


@pytest.mark.parametrize("as_of", [MAY31, CLOSE], ids=["31-May", "closed-15-June"])
def test_the_product_gives_the_hand_computed_figures(worked_month, as_of):
    from towerledger.analysis import kpi

    rows = kpi.compute(MAY, as_of)
    assert_figures(figures_of(rows), HAND[as_of], f"kpi.compute province as of {as_of}")
    for level, key in (("CITY", "郑州市"), ("COUNTY", "郑州市/金水区"), ("SITE", "WX001")):
        same = {k: v for k, v in HAND[as_of].items()
                if level == "CITY" or not k.startswith("receipts")}
        assert_figures(figures_of(rows, level, key), same, f"kpi.compute {level} as of {as_of}")
    if as_of == CLOSE:
        for op, expected in HAND_OPERATORS.items():
            assert_figures(figures_of(rows, operator=op), expected,
                           f"kpi.compute {op} at the close")
