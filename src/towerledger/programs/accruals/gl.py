"""总账凭证 The general-ledger export: a month's journal as vouchers for the ERP (rules in
``domain.vouchers``), the mapping table with its defaults, and the export table (CSV/XLSX
through exchange.files: formula-injection safe) whose last row states the totals."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from towerledger.access.audit import record
from towerledger.domain.errors import DomainError
from towerledger.domain.journal import CHART, ZERO
from towerledger.domain.money import FEN
from towerledger.domain.months import month_end
from towerledger.domain.vouchers import DEFAULTS, JournalRow, Subject, Voucher, build
from towerledger.ledger.models import JournalLine
from towerledger.programs.accruals.models import GlMapping

HEADERS = ["凭证号 voucher_no", "日期 date", "业务类型 kind", "摘要 summary", "行号 line_no",
           "产品科目 account", "科目编码 subject_code", "科目名称 subject_name", "地市 city",
           "站址 site", "运营商 operator", "借方 debit", "贷方 credit"]
TOTAL = "合计 Total"


def ensure_defaults() -> int:
    """Create the default mapping of every chart account that has no row yet (the first
    time only: a row the admin emptied stays empty, and the export refuses it)."""
    have = set(GlMapping.objects.values_list("account", flat=True))
    rows = [GlMapping(account=a, subject_code=code, subject_name=name,
                      aux_city="city" in dims, aux_site="site" in dims,
                      aux_operator="operator" in dims)
            for a, (code, name, dims) in DEFAULTS.items() if a not in have]
    if rows and not have:
        GlMapping.objects.bulk_create(rows)
        return len(rows)
    return 0


def mapping() -> dict[str, Subject]:
    return {m.account: Subject(m.subject_code, m.subject_name, m.dims)
            for m in GlMapping.objects.all()}


def update_mapping(account: str, code: str, name: str, dims, user, reason: str) -> GlMapping:
    if account not in CHART:
        raise DomainError(f"未知科目 {account}", f"unknown account {account}")
    if not (reason or "").strip():
        raise DomainError("请填写原因", "a reason is required")
    with transaction.atomic():
        row, _ = GlMapping.objects.get_or_create(account=account)
        before = {"code": row.subject_code, "name": row.subject_name, "dims": list(row.dims)}
        row.subject_code, row.subject_name = code.strip()[:40], name.strip()[:80]
        row.aux_city, row.aux_site, row.aux_operator = (d in dims for d in
                                                        ("city", "site", "operator"))
        row.updated_by = user if getattr(user, "pk", None) else None
        row.save()
        record(user, "accruals.mapping", "gl_mapping", account, before,
               {"code": row.subject_code, "name": row.subject_name, "dims": list(row.dims)},
               reason)
    return row


def journal_rows(month: date) -> list[JournalRow]:
    """The month's journal lines summed by (date, kind, account, city, site, operator)."""
    first = month.replace(day=1)
    qs = JournalLine.objects.filter(entry__date__gte=first, entry__date__lte=month_end(first)) \
        .values("entry__date", "entry__kind", "account", "site__county__city__name",
                "site__site_code", "operator__code").annotate(d=Sum("debit"), c=Sum("credit"))
    return [JournalRow(r["entry__date"], r["entry__kind"], r["account"],
                       r["site__county__city__name"] or "", r["site__site_code"] or "",
                       r["operator__code"] or "", _fen(r["d"]), _fen(r["c"])) for r in qs]


def journal_totals(month: date) -> dict[str, tuple[Decimal, Decimal]]:
    """Σ debit and Σ credit per account of the month's journal (what the export ties to)."""
    first = month.replace(day=1)
    qs = JournalLine.objects.filter(entry__date__gte=first, entry__date__lte=month_end(first)) \
        .values("account").annotate(d=Sum("debit"), c=Sum("credit"))
    return {r["account"]: (_fen(r["d"]), _fen(r["c"])) for r in qs}


def _fen(x) -> Decimal:
    """A database sum as yuan to the fen (SQLite sums decimals with more places)."""
    return Decimal(x or 0).quantize(FEN)


def vouchers(month: date) -> list[Voucher]:
    """The month's vouchers; ``Unmapped`` names the accounts without a mapping."""
    ensure_defaults()
    return build(journal_rows(month), mapping())


def table(vs: list[Voucher], progress=None):
    """(headers, rows): one row per voucher line, then the totals row."""
    def rows():
        debit = credit = ZERO
        lines = 0
        for v in vs:
            for n, ln in enumerate(v.lines, start=1):
                debit += ln.debit
                credit += ln.credit
                lines += 1
                yield [v.number, v.date, v.kind, v.summary, n, ln.account, ln.code, ln.name,
                       ln.city, ln.site, ln.operator, ln.debit, ln.credit]
            if progress:
                progress(1)
        yield [TOTAL, None, None, f"{len(vs)} 张凭证 vouchers, {lines} 行 lines",
               None, None, None, None, None, None, None, debit, credit]
    return HEADERS, rows()
