"""总账凭证 General-ledger vouchers: a month's journal for the company's ERP.

* **One voucher per (date, kind)**: every journal entry of that day and business kind
  (ALLOCATION, PAYMENT, RECEIPT, ACCRUAL …) goes into one voucher. Each entry balances, so
  the voucher does. The city is an auxiliary dimension on the voucher's lines, not a key of
  the voucher: an entry may touch sites of two cities (an account feeding both), and a
  voucher split by city would then not balance.
* **Lines**: the entries' lines summed by (product account, the auxiliary dimensions the
  account's mapping keeps: city, site, operator), debits and credits kept apart (never
  netted), so the debit and credit totals per account equal the journal's.
* **Mapping** (``Subject``): each product account (``journal.CHART``) to the company's
  科目 code and name and the auxiliary dimensions it carries. An account without a mapping
  (or with an empty code) refuses the whole export, naming the accounts: nothing is dropped.
* Vouchers are numbered 记-0001 … in (date, kind) order within the month.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.journal import CHART, ZERO

DIMS = ("city", "site", "operator")

# product account → (科目编码, 科目名称, auxiliary dimensions); a province admin edits them
DEFAULTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "CASH": ("1002", "银行存款", ()),
    "ADVANCE": ("1123.01", "预付账款-电费垫付", ("city", "site")),
    "UNCONFIRMED": ("1122.01", "应收账款-待确认电费", ("city", "site", "operator")),
    "RECEIVABLE": ("1122.02", "应收账款-电费", ("city", "site", "operator")),
    "TOWER_COST": ("6401.01", "主营业务成本-电费", ("city", "site")),
    "TAX_FACTOR": ("6001.01", "主营业务收入-税负因子", ("city",)),
    "UNAPPLIED": ("2203", "预收账款", ("operator",)),
    "RENT_ADVANCE": ("1123.02", "预付账款-场租垫付", ("city", "site")),
    "RENT_DEPOSIT": ("1221.01", "其他应收款-场租押金", ("city", "site")),
    "RENT_COST": ("6401.02", "主营业务成本-场租", ("city", "site")),
    "GEN_ADVANCE": ("1123.03", "预付账款-发电垫付", ("city", "site")),
    "GEN_COST": ("6401.03", "主营业务成本-发电", ("city", "site")),
    "SHARING_INCOME": ("6051.01", "其他业务收入-效益分成", ("city", "operator")),
    "RECOVERY": ("2241.01", "其他应付款-追缴款", ("city",)),
    "ACCRUAL_COST": ("6401.04", "主营业务成本-暂估电费", ("city", "site")),
    "ACCRUED": ("2202.01", "应付账款-暂估电费", ("city", "site")),
    "OPENING": ("4104", "利润分配-期初余额", ()),
}

KIND_LABELS = {
    "PAYMENT": "支付", "ALLOCATION": "分摊", "CONFIRM": "确认", "RECEIPT": "回款",
    "GEN_PAY": "发电支付", "RENT_PAY": "场租支付", "THEFT_RECOVERY": "追缴款",
    "WRITE_OFF": "核销", "ADJUSTMENT": "调账", "LUMP_SUM": "包干", "ACCRUAL": "暂估",
    "ACCRUAL_REVERSAL": "暂估冲回", "RENT": "场租", "GENERATOR": "油机发电",
    "OPENING": "期初", "RECOVERY_CREDIT": "追缴退还", "SAVINGS_SHARE": "效益分成",
    "SITE_FEE_LUMP_SUM": "场地费包干",
}


@dataclass(frozen=True)
class Subject:
    code: str
    name: str
    dims: tuple[str, ...] = ()


@dataclass(frozen=True)
class JournalRow:
    """The journal's lines of one (date, kind, account, city, site, operator), summed."""
    date: date
    kind: str
    account: str
    city: str = ""
    site: str = ""
    operator: str = ""
    debit: Decimal = ZERO
    credit: Decimal = ZERO


@dataclass(frozen=True)
class VoucherLine:
    account: str
    code: str
    name: str
    city: str
    site: str
    operator: str
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class Voucher:
    number: str
    date: date
    kind: str
    summary: str
    lines: tuple[VoucherLine, ...] = field(default=())

    @property
    def debit(self) -> Decimal:
        return sum((ln.debit for ln in self.lines), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((ln.credit for ln in self.lines), ZERO)


class Unmapped(DomainError):
    """Accounts of the journal without a 科目 mapping: the export is refused."""

    def __init__(self, accounts: Iterable[str]):
        self.accounts = sorted(set(accounts))
        names = ", ".join(self.accounts)
        super().__init__(f"以下科目未配置总账映射，导出已拒绝：{names}",
                         f"no general-ledger mapping for these accounts; export refused: {names}",
                         ErrorCode.INVALID)


class UnbalancedVoucher(DomainError):
    def __init__(self, number: str, debit: Decimal, credit: Decimal):
        super().__init__(f"凭证 {number} 借贷不平：{debit} ≠ {credit}",
                         f"voucher {number} does not balance: {debit} ≠ {credit}",
                         ErrorCode.UNBALANCED)


def default_mapping() -> dict[str, Subject]:
    return {a: Subject(code, name, dims) for a, (code, name, dims) in DEFAULTS.items()}


def summary(day: date, kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return f"{day:%Y-%m-%d} {label} {kind}" if label else f"{day:%Y-%m-%d} {kind}"


def build(rows: Iterable[JournalRow], mapping: Mapping[str, Subject]) -> list[Voucher]:
    """The vouchers of ``rows`` (one per (date, kind)); raises ``Unmapped`` naming every
    account without a usable mapping, ``UnbalancedVoucher`` if a voucher does not balance."""
    rows = list(rows)
    missing = {r.account for r in rows
               if r.account not in mapping or not mapping[r.account].code.strip()}
    if missing:
        raise Unmapped(missing)
    groups: dict[tuple, dict[tuple, list[Decimal]]] = defaultdict(dict)
    for r in rows:
        subject = mapping[r.account]
        dims = tuple(getattr(r, d) if d in subject.dims else "" for d in DIMS)
        sums = groups[(r.date, r.kind)].setdefault((r.account, *dims), [ZERO, ZERO])
        sums[0] += r.debit
        sums[1] += r.credit
    vouchers = []
    for n, ((day, kind), lines) in enumerate(sorted(groups.items()), start=1):
        out = []
        for (account, city, site, operator), (debit, credit) in sorted(
                lines.items(), key=lambda kv: (_order(kv[0][0]), kv[0])):
            s = mapping[account]
            # a debit line and a credit line, each only when not zero (never netted)
            for d, c in ((debit, ZERO), (ZERO, credit)):
                if d or c:
                    out.append(VoucherLine(account, s.code, s.name, city, site, operator, d, c))
        v = Voucher(f"记-{n:04d}", day, kind, summary(day, kind), tuple(out))
        if v.debit != v.credit:
            raise UnbalancedVoucher(v.number, v.debit, v.credit)
        vouchers.append(v)
    return vouchers


def _order(account: str) -> int:
    return CHART.index(account) if account in CHART else len(CHART)


def totals_by_account(vouchers: Iterable[Voucher]) -> dict[str, tuple[Decimal, Decimal]]:
    out: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for v in vouchers:
        for ln in v.lines:
            out[ln.account][0] += ln.debit
            out[ln.account][1] += ln.credit
    return {a: (d, c) for a, (d, c) in out.items()}
