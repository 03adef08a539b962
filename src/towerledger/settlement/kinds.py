"""Export kinds of the settlement side: allocations (every line of every paid bill, the
tower-borne part its own row), lines (what operators confirm) and disputes. Export only:
lines are made by allocation, never imported."""

from towerledger.access.scope import scoped
from towerledger.exchange.registry import Kind, register
from towerledger.importers.schema import Field, Schema, text_cell
from towerledger.settlement.models import Dispute, Line

ALLOCATION_EXPORT = ("bill_no", "account_no", "site_code", "tenancy_id", "operator",
                     "settlement_mode", "period_start", "period_end", "active_days", "share",
                     "cost_share", "tax_factor", "tax_amount", "receivable", "status",
                     "line_id")
LINE_EXPORT = ("line_id", "kind", "adjusts", "month", "bill_no", "site_code", "tenancy_id",
               "operator", "settlement_mode", "period_start", "period_end", "share",
               "cost_share", "tax_factor", "tax_amount", "receivable", "status", "push_date",
               "confirm_due", "confirmed_at", "deemed")
DISPUTE_EXPORT = ("dispute_id", "line_id", "bill_no", "site_code", "operator", "round",
                  "reason", "comment", "raised_at", "due", "overdue", "status", "answer",
                  "new_amount", "adjustment_line")


def _line_id(pk):
    return f"L{pk}" if pk else ""


def export_allocations(user):
    qs = scoped(user, Line.objects.filter(kind=Line.Kind.ALLOCATION)).order_by(
        "bill_id", "site__site_code", "tenancy_id")
    for r in qs.values_list("bill__bill_no", "bill__account__account_no", "site__site_code",
                            "tenancy__tenancy_id", "operator__code", "mode", "period_start",
                            "period_end", "active_days", "share", "cost_share", "tax_factor",
                            "tax_amount", "receivable", "status", "pk").iterator(chunk_size=5000):
        row = list(r)
        if row[3] is None:
            row[3], row[4] = "铁塔自担 TOWER", ""
        row[-1] = _line_id(row[-1])
        yield dict(zip(ALLOCATION_EXPORT, row, strict=True))


def export_lines(user):
    qs = scoped(user, Line.objects.of_operators()).order_by("pk")
    for r in qs.values_list("pk", "kind", "adjusts_id", "month", "bill__bill_no",
                            "site__site_code", "tenancy__tenancy_id", "operator__code", "mode",
                            "period_start", "period_end", "share", "cost_share", "tax_factor",
                            "tax_amount", "receivable", "status", "push_date", "confirm_due",
                            "confirmed_at", "deemed").iterator(chunk_size=5000):
        row = list(r)
        row[0], row[2] = _line_id(row[0]), _line_id(row[2])
        yield dict(zip(LINE_EXPORT, row, strict=True))


def export_disputes(user):
    qs = scoped(user, Dispute.objects.all()).order_by("pk")
    for r in qs.values_list("pk", "line_id", "line__bill__bill_no", "line__site__site_code",
                            "line__operator__code", "round", "reason", "comment", "raised_at",
                            "due", "overdue", "status", "answer", "new_amount",
                            "adjustment_id").iterator(chunk_size=5000):
        row = list(r)
        row[0], row[1], row[-1] = f"D{row[0]}", _line_id(row[1]), _line_id(row[-1])
        yield dict(zip(DISPUTE_EXPORT, row, strict=True))


for name, title, fields, export in (
        ("allocations", "分摊结果", ALLOCATION_EXPORT, export_allocations),
        ("lines", "分摊明细", LINE_EXPORT, export_lines),
        ("disputes", "争议", DISPUTE_EXPORT, export_disputes)):
    schema = Schema(name, title, tuple(Field(n, n, text_cell) for n in fields), key=())
    register(Kind(name, schema, None, None, export, fields, importable=False))
