"""税负因子: the gross-up that keeps the tower company whole on resold power (DOMAIN.md §3).

The factor is a configured, dated table, never a constant in code. ``TaxFactorTable`` is
the one lookup: given the bill's province, the line's operator, the bill's supply account,
the account's supply type, the bill's invoice type and the day, it returns the factor and
the row it came from.

Which row wins (most specific first, then the latest date within a key):

1. a row for the bill's **supply account** (per-account override);
2. a row for the line's **operator** (an operator that refuses the gross-up has f = 0 and
   the tower company bears the tax), the bill's province before all provinces;
3. a row for the bill's **province**;
4. a row for every province (the default table, seeded with the formula's values);
5. no row at all: the formula ``f = (1 + r_out) / (1 + r_in) − 1``.

Within each of these, a row naming the invoice type beats one for any invoice type, then a
row naming the supply type (DIRECT / RESUPPLY) beats one for any supply type. A *key* is the combination of
account, operator, province, supply type and invoice type a row names; within a key the
row with the latest ``effective_from`` on or before the day is in force, and a row without
a factor ends the key from its date (the less specific rows apply again). Rows are never
rewritten: a change is a new row with its own date.

One factor per bill: the factor belongs to the bill's input invoice, so a bill whose period
spans a change takes the row in force on the bill's **period end**.

Pure Python, no Django.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import product

from towerledger.domain.codes import InvoiceType

OUTPUT_VAT_RATE = Decimal("0.13")

# Input VAT the tower company can deduct, by the bill's invoice type.
INPUT_VAT_RATE = {
    InvoiceType.SPECIAL_13: Decimal("0.13"),
    InvoiceType.SPECIAL_9: Decimal("0.09"),
    InvoiceType.SPECIAL_3: Decimal("0.03"),
    InvoiceType.SPECIAL_1: Decimal("0.01"),
    InvoiceType.GENERAL: Decimal("0"),
    InvoiceType.RECEIPT: Decimal("0"),
}

FACTOR_PLACES = Decimal("0.0001")


def default_tax_factor(r_in: Decimal, r_out: Decimal = OUTPUT_VAT_RATE) -> Decimal:
    """f = (1 + r_out) / (1 + r_in) − 1, kept to 4 decimals (half-up)."""
    return ((1 + r_out) / (1 + r_in) - 1).quantize(FACTOR_PLACES, rounding=ROUND_HALF_UP)


def default_tax_factor_table() -> dict[InvoiceType, Decimal]:
    """The defaults seeded into the configured table: 0 %, 3.67 %, 9.71 %, 11.88 %, 13 %, 13 %."""
    return {t: default_tax_factor(r) for t, r in INPUT_VAT_RATE.items()}


def formula_factor(invoice_type: str) -> Decimal:
    """The formula's factor for an invoice type (an unknown type deducts nothing)."""
    return default_tax_factor(INPUT_VAT_RATE.get(invoice_type, Decimal(0)))


# ---- the configured table -------------------------------------------------------------------

# The levels of DOMAIN.md §3's overrides, most specific first.
ACCOUNT, OPERATOR, PROVINCE, DEFAULT, FORMULA = ("ACCOUNT", "OPERATOR", "PROVINCE", "DEFAULT",
                                                 "FORMULA")
LEVEL_ZH = {ACCOUNT: "户号覆盖", OPERATOR: "运营商覆盖", PROVINCE: "省份", DEFAULT: "全省通用",
            FORMULA: "默认公式"}
LEVEL_EN = {ACCOUNT: "account override", OPERATOR: "operator override", PROVINCE: "province",
            DEFAULT: "all provinces", FORMULA: "default formula"}


@dataclass(frozen=True)
class TaxFactorRow:
    """One dated row. ``None`` (or ``""`` for the codes) means "any"; ``factor`` None ends
    the key's earlier rows from ``effective_from``."""

    id: int | None
    effective_from: date
    factor: Decimal | None
    province: object = None      # a province's id (or name): whatever the caller matches on
    operator: str | None = None
    account: object = None       # a supply account's id (or number)
    supply_mode: str = ""
    invoice_type: str = ""

    @property
    def key(self) -> tuple:
        # an account row is the account's, whatever province it was filed under
        province = None if self.account is not None else self.province
        return (self.account, self.operator, province, self.supply_mode or "",
                self.invoice_type or "")

    @property
    def level(self) -> str:
        if self.account is not None:
            return ACCOUNT
        if self.operator is not None:
            return OPERATOR
        return PROVINCE if self.province is not None else DEFAULT


@dataclass(frozen=True)
class Found:
    """The factor for one line and where it came from (``row`` None: the formula)."""

    factor: Decimal
    level: str
    row: TaxFactorRow | None
    on: date

    def trace(self) -> dict:
        r = self.row
        return {"factor": str(self.factor), "level": self.level, "on": self.on.isoformat(),
                "row_id": r.id if r else None,
                "effective_from": r.effective_from.isoformat() if r else None}

    def text_zh(self) -> str:
        from towerledger.domain.explain import tax_source_text  # explain reads LEVEL_*

        return tax_source_text(self.trace())[1]

    def text_en(self) -> str:
        from towerledger.domain.explain import tax_source_text

        return tax_source_text(self.trace())[0]


class TaxFactorTable:
    """The configured table, indexed once; ``lookup`` costs a few dictionary probes and
    bisections, so the bulk allocation path (100,000 bills) asks it per line freely."""

    def __init__(self, rows):
        by_key: dict[tuple, list[TaxFactorRow]] = {}
        for r in rows:
            by_key.setdefault(r.key, []).append(r)
        self._rows = {}
        self._dates = {}
        for key, found in by_key.items():
            # same key and date twice (the database forbids it): the later id wins, so the
            # answer never depends on the order rows were read in
            found.sort(key=lambda r: (r.effective_from, r.id or 0))
            self._rows[key] = found
            self._dates[key] = [r.effective_from for r in found]
        self.accounts = frozenset(k[0] for k in self._rows if k[0] is not None)
        self._found: dict[tuple, Found] = {}

    def __len__(self):
        return sum(len(v) for v in self._rows.values())

    def in_force(self, key: tuple, on: date) -> TaxFactorRow | None:
        """The key's row in force on ``on`` (None: none yet, or ended)."""
        dates = self._dates.get(key)
        if not dates:
            return None
        i = bisect_right(dates, on)
        if not i:
            return None
        row = self._rows[key][i - 1]
        return row if row.factor is not None else None

    def lookup(self, *, province, operator: str | None, account, supply_mode: str,
               invoice_type: str, on: date) -> Found:
        """The factor for a line of ``operator`` on a bill of ``account`` (whose supply
        type is ``supply_mode``, in ``province``) with ``invoice_type``, on ``on``.

        Answers are remembered: a month's bills share a handful of period ends, so the
        bulk path computes each combination once."""
        if account not in self.accounts:
            account = None      # no override for it: the same answer as for any account
        asked = (province, operator, account, supply_mode or "", invoice_type or "", on)
        found = self._found.get(asked)
        if found is None:
            found = self._found[asked] = self._lookup(*asked)
        return found

    def _lookup(self, province, operator, account, supply_mode, invoice_type, on) -> Found:
        for key in candidate_keys(province, operator, account, supply_mode, invoice_type):
            row = self.in_force(key, on)
            if row is not None:
                return Found(row.factor, row.level, row, on)
        return Found(formula_factor(invoice_type), FORMULA, None, on)


def candidate_keys(province, operator, account, supply_mode, invoice_type) -> list[tuple]:
    """Every key that could apply, most specific first (the order of the module doc)."""
    keys = []
    for acc, op, prov, inv, mode in product((account, None), (operator, None),
                                            (province, None), (invoice_type or "", ""),
                                            (supply_mode or "", "")):
        if acc is not None and prov is not None:
            continue       # account rows are keyed without their province
        keys.append((acc, op, prov, mode, inv))
    return list(dict.fromkeys(keys))   # "any" given as the value itself: asked once
