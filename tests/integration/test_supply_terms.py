"""转改直 dates the account's supply terms (DOMAIN.md §7: "DIRECT from that date, dated master
data: the tax factor follows"). A-100 (resupplied by a landlord at 1.10, GENERAL invoice)
is converted on 2025-03-15, direct from that date (SPECIAL_13 at 0.65). Bills arriving
after the conversion are each judged by the terms on their own period end: a late
February bill as resupply (tax factor, price and invoice audits, KPI band), an April bill
as direct; the project and site pages show the history."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.integration.test_bills import import_bills
from tests.web.test_pages import login
from towerledger.access.models import AuditEntry
from towerledger.analysis.kpi import compute
from towerledger.bills.models import Bill
from towerledger.domain.errors import DomainError
from towerledger.org.models import Province
from towerledger.programs.conversion import services
from towerledger.programs.trading import services as trading
from towerledger.programs.trading.models import Contract
from towerledger.settlement.models import Line
from towerledger.sites import tax_factors, terms
from towerledger.sites.models import SupplyAccount, SupplyTerms

D = Decimal
DONE = date(2025, 3, 15)
# bill_no, account, start, end, r0, r1, mult, loss, kWh, price, amount, tax, invoice, paid, ref
FEB = ["L-2502", "A-100", "2025-02-01", "2025-02-28", "", "", "", "", "4000", "1.10",
       "4400.00", "", "GENERAL", "2025-04-10", "PAY-L2502"]          # the landlord's, late
MAR = ["L-2503", "A-100", "2025-03-01", "2025-03-14", "", "", "", "", "2000", "1.10",
       "2200.00", "", "RECEIPT", "2025-04-12", "PAY-L2503"]          # ends the day before
APR = ["D-2504", "A-100", "2025-04-01", "2025-04-30", "", "", "", "", "4000", "0.70",
       "2800.00", "", "SPECIAL_13", "2025-05-10", "PAY-D2504"]       # the grid's, above 0.65


@pytest.fixture
def converted(province, users):
    """A-100 converted on 2025-03-15; a province row grosses resupplied GENERAL bills up by
    11 % (so a bill judged as direct would get the formula's 13 % instead)."""
    admin = users["admin"]
    tax_factors.add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.1100"),
                         province=Province.objects.get(), supply_mode="RESUPPLY",
                         invoice_type="GENERAL", reason="本省转供电普票")
    a100 = SupplyAccount.objects.get(account_no="A-100")
    p = services.submit(users["clerk_zz"], a100, reason="高价转供", submitted_on=date(2025, 1, 5),
                        price_before=D("1.10"), direct_price=D("0.65"))
    for step, on in (("approve", date(2025, 1, 20)), ("build", date(2025, 3, 1)),
                     ("complete", DONE)):
        p = services.advance(users["clerk_zz"], p, step, reason="按计划", on=on)
    return p


def lines_of(bill_no):
    return Line.objects.filter(bill__bill_no=bill_no, kind=Line.Kind.ALLOCATION,
                               operator__isnull=False)


def flags_of(bill_no):
    return set(Bill.objects.get(bill_no=bill_no).flags.values_list("code", flat=True))


def test_the_conversion_is_dated_not_overwritten(converted, users):
    a = SupplyAccount.objects.get(account_no="A-100")
    rows = list(SupplyTerms.objects.filter(account=a).values_list(
        "effective_from", "supply_mode", "supplier_type", "input_invoice_type",
        "contract_price", "recorded_by__username"))
    assert rows == [(None, "RESUPPLY", "LANDLORD", "GENERAL", D("1.1000"), "clerk_zz"),
                    (date(2025, 3, 15), "DIRECT", "GRID", "SPECIAL_13", D("0.6500"),
                     "clerk_zz")]
    book = terms.load([a.pk])
    assert book.on(a.pk, date(2025, 3, 14)).supply_mode == "RESUPPLY"
    assert book.on(a.pk, DONE).supply_mode == "DIRECT"          # DIRECT from that date
    # the account's own fields are the terms in force today
    assert (a.supply_mode, a.input_invoice_type, a.contract_price) == ("DIRECT", "SPECIAL_13",
                                                                      D("0.6500"))
    entry = AuditEntry.objects.get(action="conversion.account")
    assert entry.user.username == "clerk_zz" and entry.reason == "按计划"
    assert entry.before["supply_mode"] == "RESUPPLY"
    assert entry.after["supply_mode"] == "DIRECT" and entry.after["direct_from"] == "2025-03-15"
    # a dated row is never rewritten
    with pytest.raises(DomainError):
        terms.change_terms(users["admin"], a, DONE, book.on(a.pk, date(2025, 3, 14)),
                           reason="x", action="conversion.account")


def test_late_bills_are_judged_by_the_terms_of_their_own_period(converted, tmp_path):
    result = import_bills(tmp_path, [FEB, MAR, APR], name="late.csv")
    assert result.stored, [e.text() for e in result.errors]
    # tax factor: February and the half March as resupply (the province's 11 % row for
    # resupplied GENERAL; RECEIPT by the formula), April as direct (SPECIAL_13: 0)
    assert {ln.tax_factor for ln in lines_of("L-2502")} == {D("0.1100")}
    assert {ln.tax_factor for ln in lines_of("L-2503")} == {D("0.1300")}
    assert {ln.tax_factor for ln in lines_of("D-2504")} == {D("0.0000")}
    assert lines_of("L-2502").count() == 3
    # price audits: each bill against its own contract price; the invoice check only on
    # resupply bills
    assert "PRICE_CONTRACT" not in flags_of("L-2502")           # 1.10 vs 1.10
    assert "PRICE_CONTRACT" in flags_of("D-2504")               # 0.70 vs 0.65 + 1 %
    assert "INVOICE" in flags_of("L-2503")                      # a receipt, resupply
    # KPI unit-price bands, direct vs resupply, by each bill's own terms
    feb = _figures(compute(date(2025, 2, 1)))
    apr = _figures(compute(date(2025, 4, 1)))
    assert feb.get("price_RESUPPLY_1_0_to_1_3") == 1 and "price_DIRECT_1_0_to_1_3" not in feb
    assert apr.get("price_DIRECT_lt_1_0") == 1 and "price_RESUPPLY_lt_1_0" not in apr


def _figures(rows) -> dict:
    out = {}
    for r in rows:
        if r["level"] == "SITE" and r["key"] == "ZZ001" and r["operator"] == "*":
            out = {k: v for k, v in r["figures"].items() if k.startswith("price_")}
    return out


def test_trading_takes_the_account_from_its_conversion(converted, users):
    c = trading.save_contract(users["admin"], code="TC-2025", province=Province.objects.get(),
                              year=2025, trader="售电公司", start=date(2025, 1, 1),
                              end=date(2025, 12, 31), catalogue_price=D("0.65"),
                              discount=D("0.05"), reason="年度交易")
    assert trading.enrol(users["admin"], c, [SupplyAccount.objects.get(account_no="A-100")],
                         reason="转直后参加") == 1
    early = trading.save_contract(users["admin"], code="TC-2024", province=Province.objects.get(),
                                  year=2024, trader="售电公司", start=date(2024, 1, 1),
                                  end=date(2024, 12, 31), catalogue_price=D("0.65"),
                                  discount=D("0.05"), reason="年度交易")
    with pytest.raises(DomainError):          # resupplied all of 2024
        trading.enrol(users["admin"], early, [SupplyAccount.objects.get(account_no="A-100")],
                      reason="x")
    assert Contract.objects.count() == 2


def test_the_pages_show_the_history(converted, users):
    c = login(users["admin"])
    body = c.get(reverse("conversion_project", args=[converted.pk])).content.decode()
    assert 'id="supply-terms"' in body and "2025-03-15" in body and "原始 original" in body
    body = c.get(reverse("site", args=["ZZ001"])).content.decode()
    assert 'id="terms-A-100"' in body and "2025-03-15" in body


def test_the_migration_dates_conversions_done_before(province, users):
    """conversion.0002 on what the old service left: the account overwritten to DIRECT, the
    values before on the project (or only in the audit record), no dated rows."""
    from importlib import import_module

    from django.apps import apps

    from towerledger.programs.conversion.models import Project

    migration = import_module("towerledger.programs.conversion.migrations."
                              "0002_dated_supply_terms")
    a100, a300 = (SupplyAccount.objects.get(account_no=n) for n in ("A-100", "A-300"))
    SupplyAccount.objects.filter(pk__in=[a100.pk, a300.pk]).update(
        supply_mode="DIRECT", supplier_type="GRID", input_invoice_type="SPECIAL_13",
        contract_price=D("0.6500"))
    Project.objects.create(code="P-1", account=a100, status="DONE", estimated_cost=1,
                           price_before=D("1.10"), direct_price=D("0.65"),
                           submitted_on=date(2024, 5, 1), done_on=date(2024, 6, 30),
                           before={"supply_mode": "RESUPPLY", "supplier_type": "LANDLORD",
                                   "input_invoice_type": "GENERAL", "contract_price": "1.1000"})
    Project.objects.create(code="P-3", account=a300, status="DONE", estimated_cost=1,
                           price_before=D("1.20"), direct_price=D("0.65"),
                           submitted_on=date(2024, 5, 1), done_on=date(2024, 8, 31))
    AuditEntry.objects.create(action="conversion.account", object_type="account",
                              object_key="A-300", before={
                                  "supply_mode": "RESUPPLY", "supplier_type": "PROPERTY",
                                  "input_invoice_type": "SPECIAL_3", "contract_price": None},
                              after={"supply_mode": "DIRECT", "supplier_type": "GRID",
                                     "input_invoice_type": "SPECIAL_13",
                                     "contract_price": "0.6500", "direct_from": "2024-09-01"})
    migration.date_conversions(apps, None)
    migration.date_conversions(apps, None)          # once per account, whatever runs again
    book = terms.load([a100.pk, a300.pk])
    assert book.on(a100.pk, date(2024, 6, 29)) == terms.Terms("RESUPPLY", "LANDLORD", "GENERAL",
                                                             D("1.1000"))
    assert book.on(a100.pk, date(2024, 6, 30)) == terms.Terms("DIRECT", "GRID", "SPECIAL_13",
                                                             D("0.6500"))
    assert book.on(a300.pk, date(2024, 8, 31)) == terms.Terms("RESUPPLY", "PROPERTY",
                                                             "SPECIAL_3", None)
    assert book.on(a300.pk, date(2024, 9, 1)).supply_mode == "DIRECT"
    assert SupplyTerms.objects.count() == 4
    assert AuditEntry.objects.filter(action="conversion.account").count() == 3


def test_the_terms_of_a_province_of_accounts_load_at_once(converted):
    """A 100,000-bill import asks for the terms of as many accounts: more ids than SQLite
    takes host parameters in one statement (32,766) must still load, in one array parameter
    on PostgreSQL and in chunks on SQLite."""
    a = SupplyAccount.objects.get(account_no="A-100")
    ids = [*range(10_000_000, 10_040_000), a.pk]          # 40,000 unknown ids and A-100
    book = terms.load(ids)
    assert set(book.histories) == {a.pk}
    assert book.on(a.pk, DONE).supply_mode == "DIRECT"


def test_a_bill_without_an_invoice_type_takes_the_one_of_its_own_period(converted, tmp_path):
    """The file leaves the invoice type blank: a late February bill gets the landlord's
    GENERAL (the terms then), an April bill the grid's SPECIAL_13 (the terms now)."""
    feb, apr = list(FEB), list(APR)
    feb[0], apr[0] = "L-2502B", "D-2504B"
    feb[12] = apr[12] = ""
    feb[14], apr[14] = "PAY-L2502B", "PAY-D2504B"
    result = import_bills(tmp_path, [feb, apr], name="blank-invoice.csv")
    assert result.stored, [e.text() for e in result.errors]
    assert Bill.objects.get(bill_no="L-2502B").invoice_type == "GENERAL"
    assert Bill.objects.get(bill_no="D-2504B").invoice_type == "SPECIAL_13"
