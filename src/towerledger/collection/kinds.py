"""Register receipts (import and export) and the statements and write-offs exports."""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from towerledger.access.scope import write_city_id
from towerledger.collection import services, staged_receipts
from towerledger.collection.models import Receipt
from towerledger.db.bulk import Counts, OneOf, copy_insert, parts
from towerledger.domain.codes import OperatorCode
from towerledger.exchange.authorise import outside, outside_rows
from towerledger.exchange.registry import Kind, register
from towerledger.importers.schema import (
    Field,
    RowError,
    Schema,
    code,
    date,
    dec_of,
    enum,
    name,
    org_name,
    text_cell,
)
from towerledger.org.models import City, Operator
from towerledger.settlement.models import Application

RECEIPTS = Schema("receipts", "回款", (
    Field("receipt_no", "回款编号", code, aliases=("回款单号", "收款编号")),
    Field("operator", "运营商", enum(OperatorCode), aliases=("客户",)),
    Field("city", "地市", org_name, required=False),
    Field("amount", "金额", dec_of(Receipt, "amount", "0.01"), aliases=("回款金额",)),
    Field("received_date", "到账日期", date, aliases=("回款日期", "收款日期")),
    Field("reference", "摘要", name, required=False, aliases=("参考号", "附言", "备注")),
), key=("receipt_no",), notes=(
    "Idempotent by receipt_no: a receipt already imported with the same content is skipped; "
    "the same number with other content is an error.",
    "After import every new receipt is matched automatically (statement or invoice number "
    "in the reference, exact amount of one open statement, or oldest first where the "
    "province enables it); what is left stays unapplied (预收). Where the setting "
    "TOWERLEDGER_MATCH_ON_IMPORT is 0, receipts wait for `towerledger match` instead.",
))

CONTENT = ("operator", "city", "amount", "received_date", "reference")


def _err(r, column, zh, en):
    return RowError(r["_row"], column, zh, en)


def authorise_receipts(records, importer):
    """A clerk's receipts are their city's: the city column must name it (a receipt without
    a city is the province's), and an existing receipt number of another city is not theirs."""
    city_id = write_city_id(importer.user)
    if city_id is None:
        return []
    own = City.objects.filter(pk=city_id).values_list("name", flat=True).first()
    errors = [outside(r, "city", r.get("city") or "全省 province-wide") for r in records
              if r.get("city") != own]
    return errors + outside_rows(records, importer.user, Receipt, "receipt_no")


def _existing(numbers) -> dict[str, tuple]:
    """{receipt_no: (operator code, city name or None, amount, received_date, reference)}
    of the receipts already imported under these numbers (one array query on PostgreSQL)."""
    found = {}
    for part in parts(numbers):
        for no, *content in Receipt.objects.filter(OneOf("receipt_no", part)).values_list(
                "receipt_no", "operator__code", "city__name", "amount", "received_date",
                "reference"):
            found[no] = tuple(content)
    return found


def check_receipts(records):
    errors = []
    cities = dict(City.objects.values_list("name", "pk"))
    today = timezone.localdate()
    existing = _existing(r["receipt_no"] for r in records)
    for r in records:
        if r.get("city") and r["city"] not in cities:
            errors.append(_err(r, "city", f"地市 {r['city']} 不存在",
                               f"unknown city {r['city']}"))
        if r["received_date"] > today:
            errors.append(_err(r, "received_date", f"到账日期 {r['received_date']} 晚于今天",
                               f"received_date {r['received_date']} is in the future"))
        old = existing.get(r["receipt_no"])
        if old and old != (r["operator"], r.get("city") or None, r["amount"],
                           r["received_date"], r.get("reference") or ""):
            errors.append(_err(r, "receipt_no", f"回款编号 {r['receipt_no']} 已导入且内容不同",
                               f"receipt_no {r['receipt_no']} was imported with other content"))
    return errors


def store_receipts(records, user=None, progress=None):
    """Store new receipts, post them (Dr CASH / Cr UNAPPLIED, set-wise from the stored rows:
    ``services.post_new_receipts``) and match them (unless the deployment matches in its
    own run: TOWERLEDGER_MATCH_ON_IMPORT=0). A receipt number already stored is skipped
    (its content was judged the same by the check), so a file imported again adds nothing."""
    ops = dict(Operator.objects.values_list("code", "pk"))
    cities = dict(City.objects.values_list("name", "pk"))
    known = set(_existing(r["receipt_no"] for r in records))
    rows = [dict(receipt_no=r["receipt_no"], operator_id=ops[r["operator"]],
                 city_id=cities.get(r.get("city")), amount=r["amount"],
                 received_date=r["received_date"], reference=r.get("reference") or "",
                 applied=0, status=Receipt.Status.UNMATCHED)
            for r in records if r["receipt_no"] not in known]
    ids = copy_insert(Receipt, rows)
    services.post_new_receipts(ids, user)
    if settings.TOWERLEDGER_MATCH_ON_IMPORT and ids:
        services.auto_match(ids, user)
    if progress:
        progress(len(records))
    return Counts(created=len(rows), unchanged=len(records) - len(rows))


def export_receipts(user):
    for r in services.scoped_receipts(user).order_by("received_date", "receipt_no") \
            .values_list("receipt_no", "operator__code", "city__name", "amount",
                         "received_date", "reference", "applied", "status"):
        yield dict(zip(RECEIPT_EXPORT, (*r[:7], r[3] - r[6], r[7]), strict=True))


RECEIPT_EXPORT = ("receipt_no", "operator", "city", "amount", "received_date", "reference",
                  "applied", "unapplied", "status")
STATEMENT_EXPORT = ("statement_no", "operator", "city", "month", "status", "lines",
                    "cost_share", "tax_amount", "receivable", "written_off", "outstanding",
                    "confirmed_at", "invoice_no", "invoice_date", "invoice_amount")
WRITE_OFF_EXPORT = ("receipt_no", "line_id", "statement_no", "amount", "rule", "reason",
                    "created_at", "reversed_at", "reversal_reason")


def export_statements(user):

    for st in services.scoped_statements(user).order_by("month", "number").annotate(
            paid=services.statement_paid()).select_related("operator", "city"):
        paid = st.paid or 0
        yield dict(zip(STATEMENT_EXPORT, (
            st.number, st.operator.code, st.city.name if st.city else "", st.month,
            st.status, st.lines_count, st.cost_share, st.tax_amount, st.receivable, paid,
            st.receivable - paid, st.confirmed_at, st.invoice_no, st.invoice_date,
            st.invoice_amount), strict=True))


def export_write_offs(user):
    visible = services.scoped_receipts(user).values("pk")
    for a in Application.objects.filter(receipt_id__in=visible).order_by("pk").values_list(
            "receipt__receipt_no", "line_id", "statement__number", "amount", "rule", "reason",
            "created_at", "reversed_at", "reversal_reason"):
        yield dict(zip(WRITE_OFF_EXPORT, (a[0], f"L{a[1]}", a[2] or "", *a[3:]), strict=True))


def receipts_outcome(records) -> dict:
    """How each receipt of the file was matched (自动核销): by reference, exact amount,
    oldest first, by hand, or not at all, with the amounts — the result page's summary and
    its downloadable list."""
    numbers = [r["receipt_no"] for r in records]
    receipts, rules = {}, {}
    for part in parts(numbers):
        ids = {}
        for pk, *r in Receipt.objects.filter(OneOf("receipt_no", part)).values_list(
                "pk", "receipt_no", "operator__code", "amount", "applied", "reference",
                "status"):
            receipts[r[0]] = r
            ids[pk] = r[0]
        for rid, rule, amount in Application.objects.filter(
                OneOf("receipt_id", list(ids)), reversed_at=None).values_list(
                    "receipt_id", "rule", "amount"):
            no = ids[rid]
            rules.setdefault(no, {}).setdefault(rule, Decimal(0))
            rules[no][rule] += amount
    rows, summary = [], {}
    for no in dict.fromkeys(numbers):
        if no not in receipts:
            continue
        _, operator, amount, applied, reference, status = receipts[no]
        how = sorted(rules.get(no, {})) or ["UNMATCHED"]
        for rule in how:
            summary[rule] = summary.get(rule, 0) + 1
        rows.append([no, operator, str(amount), str(applied), str(amount - applied),
                     "+".join(how), status, reference])
    return {"receipts": summary, "rows": rows}


register(Kind("receipts", RECEIPTS, check_receipts, store_receipts, export_receipts,
              RECEIPT_EXPORT, authorise=authorise_receipts, outcome=receipts_outcome,
              staged=staged_receipts.RECEIPTS))
for kind, title, fields, export in (
        ("statements", "对账单", STATEMENT_EXPORT, export_statements),
        ("writeoffs", "核销记录", WRITE_OFF_EXPORT, export_write_offs)):
    register(Kind(kind, Schema(kind, title, tuple(Field(n, n, text_cell) for n in fields),
                               key=()),
                  None, None, export, fields, importable=False))
