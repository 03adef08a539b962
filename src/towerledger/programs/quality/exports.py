"""The drill-down lists as files to fix and re-import: each rule's records in the canonical
columns of the import kind that corrects them (sites, accounts, tenancies, bills), so the
city fills in what is missing and imports the same file back."""

from towerledger.bills.models import Bill
from towerledger.bills.schemas import BILLS
from towerledger.db.bulk import OneOf, chunked
from towerledger.domain import quality as dq
from towerledger.settlement.kinds import LINE_EXPORT
from towerledger.settlement.models import Line
from towerledger.sites import schemas
from towerledger.sites.imports import ACCOUNT_FIELDS
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy

SITE_COLUMNS = ("site_code", "site_name", "county__city__province__name", "county__city__name",
                "county__name", "site_type", "host_site__site_code", "status",
                "decommission_date", "longitude", "latitude")
# the tenancies without their agreed ratio: an empty ratio leaves the dated history as it is
TENANCY_COLUMNS = ("tenancy_id", "site__site_code", "operator__code", "start_date", "end_date",
                   "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a")
BILL_COLUMNS = ("bill_no", "account__account_no", "period_start", "period_end",
                "start_reading", "end_reading", "multiplier", "loss_kwh", "kwh", "unit_price",
                "amount", "input_tax", "invoice_type", "paid_date", "payment_ref",
                "meter_changed", "old_meter_end_reading", "new_meter_start_reading")


def _names(schema, n=None):
    return [f.name for f in schema.fields][:n]


def _each(model, keys, columns, order):
    """(key, row) pairs."""
    for part in chunked(list(keys), 5000):
        for row in model.objects.filter(OneOf("pk", part)).order_by(*order).values_list(
                "pk", *columns):
            yield row[0], row[1:]


def _sites(keys):
    return _names(schemas.SITES), _each(Site, keys, SITE_COLUMNS, ["site_code"])


def _tenancies(keys):
    return (_names(schemas.TENANCIES, len(TENANCY_COLUMNS)),
            _each(Tenancy, keys, TENANCY_COLUMNS, ["tenancy_id"]))


def _bills(keys):
    names = _names(BILLS)
    return names, _each(Bill, keys, BILL_COLUMNS[:len(names)],
                        ["account__account_no", "period_start"])


def _accounts(keys):
    """Every split of the accounts (storing an account's rows replaces its splits), and an
    account with none as one row without a site."""
    fields = [f"account__{f}" for f in ("account_no", *ACCOUNT_FIELDS)]

    def rows():
        seen = set()
        for part in chunked(list(keys), 5000):
            for row in AccountSite.objects.filter(OneOf("account_id", part)).order_by(
                    "account__account_no", "site__site_code").values_list(
                    "account_id", *fields, "site__site_code", "split_ratio"):
                seen.add(row[0])
                yield row[0], row[1:]
            bare = [k for k in part if k not in seen]
            for row in SupplyAccount.objects.filter(OneOf("pk", bare)).order_by(
                    "account_no").values_list("pk", "account_no", *ACCOUNT_FIELDS):
                yield row[0], (*row[1:], "", "")
    return _names(schemas.ACCOUNTS), rows()


LINE_COLUMNS = ("kind", "adjusts_id", "month", "bill__bill_no", "site__site_code",
                "tenancy__tenancy_id", "operator__code", "mode", "period_start", "period_end",
                "share", "cost_share", "tax_factor", "tax_amount", "receivable", "status",
                "push_date", "confirm_due", "confirmed_at", "deemed")


def _lines(keys):
    """The lines export's columns (lines are corrected — voided, adjusted — never imported)."""
    def rows():
        for key, row in _each(Line, keys, LINE_COLUMNS, ["pk"]):
            yield key, (f"L{key}", row[0], f"L{row[1]}" if row[1] else "", *row[2:])
    return list(LINE_EXPORT), rows()


BUILDERS = {"sites": _sites, "accounts": _accounts, "tenancies": _tenancies, "bills": _bills,
            "lines": _lines}


def keyed(rule: str, keys) -> tuple[str, list[str], object]:
    """(import kind, headers, (key, row) pairs) of ``rule``'s records ``keys``."""
    kind = dq.RULES[rule][3]
    headers, rows = BUILDERS[kind](keys)
    return kind, headers, rows


def table(rule: str, keys) -> tuple[str, list[str], object]:
    """(import kind, headers, rows) of ``rule``'s records ``keys``: the file to fix."""
    kind, headers, rows = keyed(rule, keys)
    return kind, headers, (row for _, row in rows)
