"""The KPI reference on hand-made records (no database): each contract rule on a case small
enough to check by eye, so the reference itself is tested before the product is tested
against it."""

from datetime import date
from decimal import Decimal

from tests.reference.kpi_reference import (
    ApplicationFact,
    Facts,
    LineFact,
    ReceiptFact,
    age_bucket,
    by_scope,
    compute_from,
    rate,
)

D = Decimal
MAY = date(2024, 5, 1)


def line(id, push, amount, kind="ALLOCATION", adjusts=None, op="CMCC", confirmed=None,
         deemed=False, paid=None, mode="RESALE", site="S1", county="金水区", city="郑州市"):
    return LineFact(id, kind, adjusts, mode, op, "河南省", city, county, site, push,
                    D(amount), confirmed, deemed, paid)


def app(line_id, amount, received, reversed_on=None, receipt=1):
    return ApplicationFact(line_id, receipt, D(amount), received, reversed_on)


def province(facts, as_of=None, op="*", month=MAY):
    return by_scope(compute_from(facts, month, as_of))[("PROVINCE", "河南省", op)]


def test_a_partly_accepted_dispute_counts_once_at_the_amount_as_of_the_date():
    facts = Facts([
        line(1, date(2024, 5, 10), "100.00", paid=date(2024, 5, 10)),
        line(2, date(2024, 5, 20), "80.00", kind="ADJUSTMENT", adjusts=1,
             confirmed=date(2024, 5, 25)),
    ], [], [])
    before = province(facts, date(2024, 5, 15))
    assert (before["chains"], before["chains_amount"], before["confirmed_amount"]) == \
        (1, D("100.00"), D("0.00"))
    after = province(facts)
    assert (after["chains"], after["chains_amount"], after["confirmed_amount"]) == \
        (1, D("80.00"), D("80.00"))
    assert after["arrears_base"] == after["outstanding"] == D("80.00")
    # the chain is May's (its original's push), wherever its adjustment lands
    assert province(facts, date(2024, 6, 30), month=date(2024, 6, 1))["chains"] == 0


def test_a_receipt_dated_after_month_end_is_recovery_as_of_later_but_not_arrears():
    facts = Facts([line(1, date(2024, 5, 10), "100.00", confirmed=date(2024, 5, 12))],
                  [app(1, "60.00", date(2024, 6, 2))],
                  [ReceiptFact(1, "CMCC", "河南省", "郑州市", D("60.00"), date(2024, 6, 2))])
    june15 = province(facts, date(2024, 6, 15))
    assert june15["written_off_amount"] == D("60.00")
    assert june15["outstanding"] == D("100.00")          # a stock at May 31
    assert june15["receipts_amount"] == D("0.00")        # June's receipt
    assert province(facts)["written_off_amount"] == D("0.00")
    june = province(facts, date(2024, 6, 30), month=date(2024, 6, 1))
    assert (june["receipts_amount"], june["receipts_applied"]) == (D("60.00"), D("60.00"))
    assert june["outstanding"] == D("40.00")             # May's chain, still open in June
    assert june["age_31_60"] == D("40.00") and june["arrears_base"] == D("0.00")


def test_a_reversal_counts_from_its_date_on():
    facts = Facts([line(1, date(2024, 5, 10), "100.00", confirmed=date(2024, 5, 12))],
                  [app(1, "30.00", date(2024, 5, 20), reversed_on=date(2024, 6, 5))],
                  [ReceiptFact(1, "CMCC", "河南省", "郑州市", D("50.00"), date(2024, 5, 20))])
    at_end = province(facts)
    assert (at_end["written_off_amount"], at_end["outstanding"]) == (D("30.00"), D("70.00"))
    assert at_end["receipts_applied"] == D("30.00")
    later = province(facts, date(2024, 6, 5))
    assert (later["written_off_amount"], later["outstanding"]) == (D("0.00"), D("70.00"))
    assert (later["receipts_amount"], later["receipts_applied"]) == (D("50.00"), D("0.00"))


def test_t0_counts_allocation_lines_of_bills_paid_in_the_month_only():
    paid = date(2024, 5, 10)
    facts = Facts([
        line(1, paid, "10.00", paid=paid),                                  # T+0
        line(2, date(2024, 5, 11), "10.00", paid=paid, op="CUCC"),          # a day late
        line(3, None, "0.00", paid=paid, op="CTCC", mode="LUMP_SUM"),       # never pushed
        line(4, None, "5.00", paid=paid, op=None, mode=""),                 # tower-borne
        line(5, date(2024, 5, 31), "600.00", kind="LUMP_SUM", op="CTCC", mode="LUMP_SUM"),
        line(6, date(2024, 5, 20), "9.00", kind="ADJUSTMENT", adjusts=2, op="CUCC"),
        line(7, date(2024, 5, 2), "10.00", paid=date(2024, 4, 30)),         # April's bill
    ], [], [])
    p = province(facts)
    assert (p["t0_lines"], p["t0_base"]) == (1, 2)
    assert (province(facts, op="CUCC")["t0_lines"], province(facts, op="CUCC")["t0_base"]) == \
        (0, 1)
    assert p["chains"] == 4                         # 1, 2→6, 5 and 7; never 3 or 4
    assert p["chains_amount"] == D("629.00")
    # same-year clearing: chains of allocation lines of bills paid Jan 1..May 31
    assert p["year_receivable"] == D("29.00")


def test_deemed_and_scopes():
    facts = Facts([
        line(1, date(2024, 5, 10), "100.00", confirmed=date(2024, 5, 21), deemed=True,
             site="S1"),
        line(2, date(2024, 5, 10), "50.00", op="CUCC", confirmed=date(2024, 5, 12),
             site="S2", county="二七区"),
        line(3, date(2024, 3, 15), "20.00", op="CUCC", site="S3", city="洛阳市",
             county="西工区"),
    ], [], [])
    rows = by_scope(compute_from(facts, MAY))
    assert rows[("PROVINCE", "河南省", "*")]["deemed_amount"] == D("100.00")
    assert rows[("PROVINCE", "河南省", "*")]["confirmed_amount"] == D("150.00")
    assert rows[("COUNTY", "郑州市/二七区", "CUCC")]["confirmed_amount"] == D("50.00")
    assert rows[("SITE", "S1", "*")]["deemed_amount"] == D("100.00")
    assert ("SITE", "S1", "CMCC") not in rows              # sites carry "*" only
    luoyang = rows[("CITY", "洛阳市", "*")]
    assert (luoyang["outstanding"], luoyang["age_61_90"], luoyang["arrears_base"]) == \
        (D("20.00"), D("20.00"), D("0.00"))                # March's chain, 77 days old


def test_age_buckets_and_rate():
    assert [age_bucket(n) for n in (0, 30, 31, 60, 61, 90, 91, 180, 181, 365, 366)] == [
        "age_0_30", "age_0_30", "age_31_60", "age_31_60", "age_61_90", "age_61_90",
        "age_91_180", "age_91_180", "age_181_365", "age_181_365", "age_gt_365"]
    assert rate(D("4184.88"), D("4784.88")) == D("0.8746")
    assert rate(1, 0) is None
