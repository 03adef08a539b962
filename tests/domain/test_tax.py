"""The tax-factor lookup (DOMAIN.md §3): the formula, which row wins, the period-end rule,
ended overrides, and answers that do not depend on the order rows are read in."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from towerledger.domain.tax import (
    FORMULA,
    TaxFactorRow,
    TaxFactorTable,
    default_tax_factor_table,
)

D = Decimal
JAN, JUN = date(2024, 1, 1), date(2024, 6, 1)


def row(i, factor, since=JAN, **kw):
    return TaxFactorRow(i, since, None if factor is None else D(factor), **kw)


def ask(table, on=date(2024, 5, 31), province=1, operator="CMCC", account=7,
        supply_mode="RESUPPLY", invoice_type="GENERAL"):
    return table.lookup(province=province, operator=operator, account=account,
                        supply_mode=supply_mode, invoice_type=invoice_type, on=on)


def test_the_formula_to_four_places():
    assert {k.value: v for k, v in default_tax_factor_table().items()} == {
        "SPECIAL_13": D("0.0000"), "SPECIAL_9": D("0.0367"), "SPECIAL_3": D("0.0971"),
        "SPECIAL_1": D("0.1188"), "GENERAL": D("0.1300"), "RECEIPT": D("0.1300")}
    found = ask(TaxFactorTable([]), invoice_type="SPECIAL_9")
    assert (found.factor, found.level, found.row) == (D("0.0367"), FORMULA, None)


ROWS = [
    row(1, "0.13", date(2000, 1, 1), invoice_type="GENERAL"),          # all provinces
    row(2, "0.12", province=1, invoice_type="GENERAL"),                 # province
    row(3, "0.115", province=1, invoice_type="GENERAL", supply_mode="RESUPPLY"),
    row(4, "0.10", province=1, operator="CUCC"),                        # operator, this province
    row(5, "0.09", operator="CUCC", invoice_type="GENERAL"),            # operator, everywhere
    row(6, "0", operator="CTCC"),                                       # refuses the gross-up
    row(7, "0.05", province=1, account=7),                              # account override
    row(8, "0.04", province=1, account=7, operator="CBN"),
    row(9, None, JUN, province=1, operator="CUCC"),                     # CUCC's override ends
]


def test_which_row_wins():
    t = TaxFactorTable(ROWS)
    assert ask(t).row.id == 7                                  # account beats everything
    assert ask(t, operator="CBN").row.id == 8                  # … its operator row first
    assert ask(t, account=8).row.id == 3                       # supply type within province
    assert ask(t, account=8, supply_mode="DIRECT").row.id == 2
    assert ask(t, account=8, operator="CUCC").row.id == 4      # this province's operator row
    assert ask(t, account=8, operator="CUCC", province=2).row.id == 5
    assert ask(t, account=8, operator="CTCC", invoice_type="SPECIAL_1").factor == D("0")
    assert ask(t, account=8, province=2).row.id == 1           # all provinces
    # CUCC's override in this province ends in June; the all-province one still applies
    assert ask(t, account=8, operator="CUCC", on=date(2024, 6, 30)).row.id == 5


def test_one_factor_per_bill_the_row_in_force_on_the_day_asked():
    t = TaxFactorTable([row(1, "0.12", province=1), row(2, "0.11", date(2024, 5, 20),
                                                       province=1)])
    assert ask(t, account=None, on=date(2024, 5, 19)).row.id == 1
    assert ask(t, account=None, on=date(2024, 5, 20)).row.id == 2
    assert ask(t, account=None, on=date(2023, 12, 31)).level == FORMULA
    text = ask(t, account=None).text_en()
    assert "row 2" in text and "2024-05-31" in text


@settings(max_examples=60, deadline=None)
@given(st.permutations(ROWS), st.sampled_from(["CMCC", "CUCC", "CTCC", "CBN", None]),
       st.sampled_from([7, 8, None]), st.integers(0, 400))
def test_the_order_rows_are_read_in_does_not_matter(rows, operator, account, day):
    on = date(2023, 12, 1) + timedelta(days=day)
    a = ask(TaxFactorTable(ROWS), on=on, operator=operator, account=account)
    b = ask(TaxFactorTable(rows), on=on, operator=operator, account=account)
    assert (a.factor, a.level, a.row) == (b.factor, b.level, b.row)
