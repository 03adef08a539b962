"""Canonical field name → ORM lookup, per area: one place where §8 names meet the models."""

SITE = {
    "site_code": "site_code", "site_name": "site_name", "province": "county__city__province__name",
    "city": "county__city__name", "county": "county__name", "site_type": "site_type",
    "host_site_code": "host_site__site_code", "status": "status",
    "decommission_date": "decommission_date", "longitude": "longitude", "latitude": "latitude",
}
TENANCY = {
    "tenancy_id": "tenancy_id", "site_code": "site__site_code", "operator": "operator__code",
    "start_date": "start_date", "end_date": "end_date", "settlement_mode": "settlement_mode",
    "lump_sum_monthly": "lump_sum_monthly", "rated_power_w": "rated_power_w",
    "dc_current_a": "dc_current_a", "agreed_ratio": "agreed_ratio",
}
ACCOUNT = {name: name for name in (
    "account_no", "supply_mode", "supplier_type", "supplier_name", "input_invoice_type",
    "contract_price", "price_cap", "payment_cycle_months", "multiplier", "lump_sum")} | {"pk": "pk"}
BILL = {name: name for name in (
    "bill_no", "dup_seq", "period_start", "period_end", "start_reading", "end_reading",
    "multiplier", "loss_kwh", "kwh", "unit_price", "amount", "input_tax", "invoice_type",
    "status", "paid_date", "payment_ref", "blocking", "warnings")} | {
    "id": "pk", "account_no": "account__account_no"}
FLAG = {name: name for name in (
    "code", "severity", "status", "message_zh", "message_en", "figures", "resolution",
    "resolved_at")}


def rows(qs, fields: dict) -> list[dict]:
    """``qs`` as dicts keyed by the canonical names, in one query."""
    names = list(fields)
    return [dict(zip(names, values, strict=True))
            for values in qs.values_list(*fields.values())]


def one(qs, fields: dict) -> dict:
    return rows(qs[:1], fields)[0]
