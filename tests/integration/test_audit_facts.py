"""The bill audit's facts gathered two ways give the same flags (bills.audit): on PostgreSQL
per bill in SQL (``facts="sql"``: the earlier bills a rule can look at, the load sums,
vacancy, new tenancies and the smart meter in one statement each) and by the Python walk over
every bill of the accounts and every tenancy of the fed sites (``facts="python"``, SQLite's
way). Both audit the same bills on the same database state, rolled back after; every flag
(code, severity, status, messages, figures) and every bill's counters agree, on bills that
make every audit rule fire: duplicates, a void bill, overlaps and gaps, readings, a meter
change, prices, benchmarks with a new tenancy, a tenancy without rated power, tenancies that
overlap and end at a site's decommissioning, a site without tenants, the smart meter over
every fed site or only some, the year before, estimated bills, a lump-sum account, an account
feeding no site, a whitelisted rule — under the default rules and under settings that ask
ESTIMATED for more bills running. On SQLite only the Python walk runs (every rule fires)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from towerledger.bills import audit
from towerledger.bills.models import AuditRuleSetting, Bill, Flag, MeterDay, Whitelist
from towerledger.domain.audit_rules import RULES
from towerledger.org.models import Operator
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy

pytestmark = pytest.mark.django_db
PG = connection.vendor == "postgresql"
D = Decimal


def make(account, no, start, end, amount, kwh=None, price=None, readings=(None, None),
         dup_seq=0, invoice="GENERAL", status=Bill.Status.UNPAID, change=None):
    old_end, new_start = change or (None, None)
    return Bill(account=account, bill_no=no, dup_seq=dup_seq, period_start=date.fromisoformat(
        start), period_end=date.fromisoformat(end), amount=D(amount),
        kwh=None if kwh is None else D(kwh), unit_price=None if price is None else D(price),
        start_reading=readings[0], end_reading=readings[1], invoice_type=invoice,
        status=status, meter_changed=change is not None, old_meter_end_reading=old_end,
        new_meter_start_reading=new_start)


def days(site, first, last, kwh):
    d, out = date.fromisoformat(first), []
    while d <= date.fromisoformat(last):
        out.append(MeterDay(site=site, date=d, kwh=D(kwh)))
        d += timedelta(days=1)
    return out


@pytest.fixture
def bills(province):
    """The province of tests/helpers, more master data, and bills for every rule."""
    accounts = {a.account_no: a for a in SupplyAccount.objects.all()}
    sites = {s.site_code: s for s in Site.objects.all()}
    op = {o.code: o for o in Operator.objects.all()}
    zz004 = Site.objects.create(site_code="ZZ004", site_name="金水四号",
                                county=sites["ZZ001"].county, site_type="MACRO",
                                decommission_date=date(2024, 6, 15))
    for tid, o, start, end, rated, dc in (
            ("T-ZZ004-a", "CMCC", date(2024, 1, 1), date(2024, 6, 10), D(2000), D(30)),
            ("T-ZZ004-b", "CUCC", date(2024, 6, 5), None, None, D(10)),   # rated unknown
            ("T-ZZ004-c", "CTCC", date(2024, 2, 1), date(2024, 2, 10), D(800), None)):
        Tenancy.objects.create(tenancy_id=tid, site=zz004, operator=op[o], start_date=start,
                               end_date=end, settlement_mode="RESALE", rated_power_w=rated,
                               dc_current_a=dc)
    a400 = SupplyAccount.objects.create(account_no="A-400", supply_mode="DIRECT",
                                        supplier_type="GRID", input_invoice_type="SPECIAL_13",
                                        contract_price=D("0.60"), price_cap=D("0.90"))
    AccountSite.objects.create(account=a400, site=zz004, split_ratio=D(60))
    AccountSite.objects.create(account=a400, site=sites["LY001"], split_ratio=D(40))
    a500 = SupplyAccount.objects.create(account_no="A-500", supply_mode="RESUPPLY",
                                        supplier_type="LANDLORD", input_invoice_type="GENERAL",
                                        contract_price=D("1.00"))           # feeds no site
    SupplyAccount.objects.filter(account_no="A-300").update(lump_sum=True)
    Whitelist.objects.create(account=accounts["A-200"], code="NO_TENANT", reason="test")
    MeterDay.objects.bulk_create([
        *days(sites["ZZ001"], "2024-05-01", "2024-08-31", "110.5"),
        *days(sites["ZZ002"], "2024-05-01", "2024-05-31", "60"),       # not ZZ003: partial
        *days(zz004, "2024-05-03", "2024-05-31", "70")])               # not every day
    a100, a200, a300 = accounts["A-100"], accounts["A-200"], accounts["A-300"]
    rows = [
        make(a100, "H-2306", "2023-06-01", "2023-06-30", "3300.00", "3000", "1.10"),
        make(a100, "H-2307", "2023-07-10", "2023-08-09", "1100.00", "1000", "1.10"),
        make(a100, "H-2401", "2024-01-01", "2024-01-31", "3300.00", "3000", "1.10"),
        make(a100, "H-2402", "2024-02-01", "2024-02-29", "3300.00", "3000", "1.10"),
        make(a100, "H-2403", "2024-03-01", "2024-03-31", "3300.00", "3000", "1.10"),
        make(a100, "H-2404", "2024-04-05", "2024-04-30", "3300.00", "3000", "1.10"),
        make(a100, "H-2405", "2024-05-01", "2024-05-31", "6600.00", "6000", "1.10"),
        make(a100, "H-2406", "2024-06-01", "2024-06-30", "4950.00", "4500", "1.10"),
        make(a100, "H-2406", "2024-06-01", "2024-06-30", "5000.00", "4500", "1.10", dup_seq=1),
        make(a100, "H-2406X", "2024-06-01", "2024-06-30", "4950.00", "4500", "1.10"),
        make(a100, "H-2407", "2024-07-01", "2024-07-31", "4290.00", "3900", "1.10",
             readings=(D(1000), D(5000))),
        make(a100, "H-2408", "2024-08-01", "2024-08-31", "3300.00", "3000", "1.10",
             readings=(D(5000), D(4000))),
        make(a100, "H-2409", "2024-09-01", "2024-09-30", "3600.00", "3000", "1.20"),
        make(a100, "H-2410", "2024-10-01", "2024-10-31", "4800.00", "3000", "1.60"),
        make(a100, "H-2411", "2024-11-01", "2024-11-30", "4000.00", "3000", "1.10"),
        make(a100, "H-2412", "2024-12-01", "2025-02-15", "8800.00", "8000", "1.10",
             invoice="RECEIPT"),
        make(a100, "H-2501", "2025-02-16", "2025-03-15", "3300.00", "3000", "1.10",
             status=Bill.Status.VOID),
        make(a100, "H-2501", "2025-02-16", "2025-03-15", "3190.00", "2900", "1.10", dup_seq=1),
        make(a100, "H-2504", "2025-03-16", "2025-04-15", "165.00", "150", "1.10",
             readings=(D(100), D(50)), change=(D(200), D(0))),
        make(a200, "G-2405", "2024-05-01", "2024-05-31", "1860.00", "3000", "0.62"),
        make(a200, "G-2406", "2024-06-01", "2024-06-30", "5580.00", "9000", "0.62"),
        make(a200, "G-2407", "2024-07-01", "2024-07-31", "5580.00", "9000", "0.62"),
        make(a300, "L-2404", "2024-04-01", "2024-06-30", "2400.00", invoice="RECEIPT"),
        make(a300, "L-2407", "2024-07-01", "2024-09-30", "2400.00", invoice=""),
        make(a400, "D-2402", "2024-02-01", "2024-02-29", "1200.00", "2000", "0.60"),
        make(a400, "D-2405", "2024-05-01", "2024-05-31", "3000.00", "5000", "0.60"),
        make(a400, "D-2406", "2024-06-01", "2024-06-30", "1800.00", "3000", "0.60"),
        make(a400, "D-2407", "2024-07-01", "2024-07-31", "1800.00", "3000", "0.60"),
        make(a400, "D-2408A", "2024-08-07", "2024-08-20", "1800.00", "3000", "0.60"),
        # ends before it starts (the import refuses such a bill; a stored one is judged alike)
        make(a400, "D-2408", "2024-08-10", "2024-08-05", "1800.00", "3000", "0.60"),
        make(a400, "D-2409", "2024-09-01", "2024-09-30", "1800.00", "3000", "0.60"),
        make(a500, "N-2405", "2024-05-01", "2024-05-31", "3000.00", "3000", "1.00"),
        make(a500, "N-2406", "2024-06-01", "2024-06-30", "6000.00", "3000", "1.00"),
    ]
    for b in rows:      # one by one: ids ascend in this order (a bill's history is below it)
        b.save()
    return [b.pk for b in rows]


def outcome():
    flags = sorted((f[0], *f[1:6], repr(sorted(f[6].items()))) for f in Flag.objects.values_list(
        "bill_id", "code", "severity", "status", "message_zh", "message_en", "figures"))
    counters = list(Bill.objects.order_by("pk").values_list("pk", "blocking", "warnings"))
    return flags, counters


def audited(ids, facts):
    with transaction.atomic():
        found = audit.audit_bills(ids, facts=facts)
        out = (found, *outcome())
        transaction.set_rollback(True)
    return out


SETTINGS = {
    "default": [],
    "configured": [("ESTIMATED", {"bills_running": 4}), ("YOY", {"over_pct": 10}),
                   ("GAP", {"max_gap_days": 0})],
}


@pytest.mark.parametrize("settings", SETTINGS)
def test_sql_facts_give_the_flags_of_the_python_walk(bills, settings):
    for code, thresholds in SETTINGS[settings]:
        AuditRuleSetting.objects.create(code=code, thresholds=thresholds)
    python = audited(bills, "python")
    fired = {f[1] for f in python[1]}
    if settings == "default":
        assert fired >= set(RULES), set(RULES) - fired        # every audit rule fires
    assert python[0] > 40 and any(c[1] for c in python[2]) and any(c[2] for c in python[2])
    if not PG:
        return
    sql = audited(bills, "sql")
    assert sql[1] == python[1]
    assert sql == python
    # the facts themselves: each bill's load facts equal the walk's
    rows = list(Bill.objects.filter(pk__in=bills).values(*audit.BILL_FIELDS))
    assert audit._loads_sql(rows) == audit._loads(rows)


def test_only_postgresql_gathers_in_sql(bills):
    if PG:
        assert audited(bills, None) == audited(bills, "sql")
    else:
        with pytest.raises(ValueError):
            audit.audit_bills(bills, facts="sql")
