"""Conversions done before supply terms were dated overwrote the account's fields: give each
such account its history — the original terms (the project's ``before``, else the audit
record's before values) and the direct terms from the done date (the audit
record's values and ``direct_from``, else the project's) — so its late bills of periods
before the conversion are judged as resupply again. Each account dated is audit-logged."""

from datetime import date

from django.db import migrations

FIELDS = ("supply_mode", "supplier_type", "input_invoice_type", "contract_price")
REASON = "迁移：按已完成的转改直项目补记按日期的供电条件 migration: terms dated from the done project"


def _terms(values: dict | None, fallback: dict) -> dict:
    """The recorded values; a field not recorded at all from ``fallback`` (nothing recorded:
    the project's own figures, a resupply landlord account on a general invoice before)."""
    values = values or {}
    out = {f: values[f] if f in values else fallback.get(f) for f in FIELDS}
    if out["contract_price"] in ("None", ""):
        out["contract_price"] = None
    return out


def date_conversions(apps, schema_editor):
    Project = apps.get_model("conversion", "Project")
    SupplyTerms = apps.get_model("sites", "SupplyTerms")
    AuditEntry = apps.get_model("access", "AuditEntry")
    dated = set(SupplyTerms.objects.values_list("account_id", flat=True))
    for p in Project.objects.filter(status="DONE", done_on__isnull=False).select_related(
            "account").order_by("done_on", "pk"):
        a = p.account
        if a.pk in dated:
            continue
        logged = (AuditEntry.objects.filter(action="conversion.account", object_type="account",
                                            object_key=a.account_no)
                  .order_by("at", "pk").last())
        before_logged = logged.before if logged is not None else None
        after_logged = logged.after if logged is not None else None
        own = {f: getattr(a, f) for f in FIELDS}
        original = _terms(p.before or before_logged,
                          {"supply_mode": "RESUPPLY", "supplier_type": "LANDLORD",
                           "input_invoice_type": "GENERAL", "contract_price": p.price_before})
        direct = _terms(after_logged, {"supply_mode": "DIRECT", "supplier_type": "GRID",
                                       "input_invoice_type": p.new_invoice_type,
                                       "contract_price": p.direct_price})
        since = p.done_on                       # DIRECT from the done date
        if after_logged and after_logged.get("direct_from"):
            since = date.fromisoformat(after_logged["direct_from"])
        SupplyTerms.objects.create(account=a, effective_from=None, **original,
                                   source="原始 original", reason=REASON)
        SupplyTerms.objects.create(account=a, effective_from=since, **direct,
                                   source=f"转改直 {p.code}", reason=REASON)
        AuditEntry.objects.create(
            action="conversion.account", object_type="account", object_key=a.account_no,
            before={f: str(v) if v is not None else None for f, v in original.items()},
            after={**{f: str(v) if v is not None else None for f, v in direct.items()},
                   "effective_from": since.isoformat(), "direct_from": since.isoformat(),
                   "project": p.code, "account_fields": {
                       f: str(v) if v is not None else None for f, v in own.items()}},
            reason=REASON)
        dated.add(a.pk)


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0001_initial"),
        ("conversion", "0001_initial"),
        ("sites", "0007_supply_terms"),
    ]

    operations = [migrations.RunPython(date_conversions, migrations.RunPython.noop)]
