"""Register the bill-side kinds (bills, payments, sub-meter readings, smart-meter days, and
flags for export) for import, template and export."""

from towerledger.access.scope import scoped
from towerledger.bills import imports, schemas, staged_bills, staged_meters
from towerledger.bills.models import Bill, Flag, SubmeterReading
from towerledger.exchange.registry import Kind, register
from towerledger.importers.schema import Field, Schema, text_cell


def _names(schema):
    return tuple(f.name for f in schema.fields)


BILL_EXPORT = (*_names(schemas.BILLS), "dup_seq", "status", "open_block_flags",
               "open_warn_flags")


def export_bills(user):
    qs = scoped(user, Bill.objects.all()).order_by("account__account_no", "period_start",
                                                   "bill_no", "dup_seq")
    cols = ["bill_no", "account__account_no", "period_start", "period_end", "start_reading",
            "end_reading", "multiplier", "loss_kwh", "kwh", "unit_price", "amount", "input_tax",
            "invoice_type", "paid_date", "payment_ref", "meter_changed",
            "old_meter_end_reading", "new_meter_start_reading", "dup_seq", "status",
            "blocking", "warnings"]
    for row in qs.values_list(*cols).iterator(chunk_size=5000):
        yield dict(zip(BILL_EXPORT, row, strict=True))


FLAG_EXPORT = ("account_no", "bill_no", "dup_seq", "period_start", "period_end", "rule",
               "severity", "status", "message_zh", "message_en", "benchmark", "actual",
               "deviation_pct", "resolution")


def export_flags(user):
    qs = scoped(user, Flag.objects.all()).order_by("bill__account__account_no", "bill_id",
                                                   "code")
    for row in qs.values_list("bill__account__account_no", "bill__bill_no", "bill__dup_seq",
                              "bill__period_start", "bill__period_end", "code", "severity",
                              "status", "message_zh", "message_en", "figures",
                              "resolution").iterator(chunk_size=5000):
        figures = row[10] or {}
        yield dict(zip(FLAG_EXPORT, (*row[:10], figures.get("benchmark"),
                                     figures.get("actual"), figures.get("deviation_pct"),
                                     row[11]), strict=True))


OUTCOME_BILLS = 200  # bills with findings listed on an import's result (the rest counted)


def bills_outcome(records) -> dict:
    """The file's bills that a finding holds (an open BLOCK flag: not paid, lines not pushed)
    and those with allocation findings, each with why, for the import's result page."""
    from towerledger.db.bulk import OneOf, parts
    from towerledger.domain.audits import ALLOCATION_RULES, BLOCK

    keys = {(r["account_no"], r["bill_no"]) for r in records}
    held, noted = {}, {}
    for part in parts(r["bill_no"] for r in records):
        flags = Flag.objects.filter(OneOf("bill__bill_no", part), status=Flag.Status.OPEN) \
            .exclude(bill__status=Bill.Status.VOID).order_by("bill_id", "code").values_list(
                "bill_id", "bill__account__account_no", "bill__bill_no", "code", "severity",
                "message_zh", "message_en")
        for bill_id, account_no, bill_no, code, severity, zh, en in flags:
            if (account_no, bill_no) not in keys:
                continue
            into = held if severity == BLOCK else noted if code in ALLOCATION_RULES else None
            if into is not None:
                into.setdefault(bill_id, {"bill": bill_id, "account_no": account_no,
                                          "bill_no": bill_no, "findings": []}
                                )["findings"].append([code, severity, zh, en])
    noted = {k: v for k, v in noted.items() if k not in held}
    return {"held_count": len(held), "noted_count": len(noted),
            "held": list(held.values())[:OUTCOME_BILLS],
            "noted": list(noted.values())[:OUTCOME_BILLS]}


def export_submeter(user):
    qs = scoped(user, SubmeterReading.objects.all())
    for row in qs.order_by("site__site_code", "period_start").values_list(
            "site__site_code", "operator__code", "period_start", "period_end", "kwh"):
        yield dict(zip(_names(schemas.SUBMETER), row, strict=True))


# the kinds with a staged path on PostgreSQL (exchange.staged)
STAGED = {"bills": staged_bills.BILLS, "submeter": staged_meters.SUBMETER, "smartmeter": staged_meters.SMART_METER}

FLAGS = Schema("flags", "稽核结果", tuple(Field(n, n, text_cell) for n in FLAG_EXPORT), key=())

for schema, check, store, export, fields, importable, authorise in (
    (schemas.BILLS, imports.check_bills, imports.store_bills, export_bills, BILL_EXPORT, True,
     imports.authorise_by_account),
    (schemas.PAYMENTS, imports.check_payments, imports.store_payments, None,
     _names(schemas.PAYMENTS), True, imports.authorise_by_account),
    (schemas.SUBMETER, imports.check_submeter, imports.store_submeter, export_submeter,
     _names(schemas.SUBMETER), True, imports.authorise_by_site),
    (schemas.SMART_METER, imports.check_smartmeter, imports.store_smartmeter, None,
     _names(schemas.SMART_METER), True, imports.authorise_by_site),
    (FLAGS, None, None, export_flags, FLAG_EXPORT, False, None),
):
    register(Kind(schema.kind, schema, check, store, export, fields, importable,
                  authorise=authorise,
                  outcome=bills_outcome if schema is schemas.BILLS else None,
                  streams=importable, staged=STAGED.get(schema.kind)))
