"""The tax-factor table (税负因子表) as an import kind: columns, checks, store, export.

Province admins only (the kind has no ``authorise``: everybody else is refused, fail
closed). All-or-nothing like every import. Each row is a dated row of the table; a row of
the same key and date already in force may not change (the past is never rewritten), one
not yet in force may. The store is an upsert on the row's key, so the result does not depend
on the order of the rows. Every row created or changed is also in the audit log.
"""

from decimal import Decimal

from django.utils import timezone

from towerledger.access import audit
from towerledger.db.bulk import lookup_ids, upsert
from towerledger.domain.codes import InvoiceType, OperatorCode, SupplyMode
from towerledger.importers.schema import (
    Field,
    RowError,
    Schema,
    code,
    date,
    dec,
    enum,
    name,
    org_name,
    yes_no,
)
from towerledger.org.models import Operator, Province
from towerledger.sites.models import SupplyAccount, TaxFactorRate
from towerledger.sites.tax_factors import (
    KEY_FIELDS,
    OBJECT_TYPE,
    account_provinces,
    as_dict,
    in_force_by,
    key_text,
)

HUNDRED = Decimal(100)

SCHEMA = Schema("tax_factors", "税负因子", (
    Field("province", "省份", org_name, required=False, aliases=("省",)),
    Field("operator", "运营商", enum(OperatorCode), required=False, aliases=("客户",)),
    Field("account_no", "电表户号", code, required=False, aliases=("户号", "报账点编码")),
    Field("supply_mode", "供电方式", enum(SupplyMode), required=False),
    Field("invoice_type", "票据类型", enum(InvoiceType), required=False,
          aliases=("进项票据类型",)),
    Field("effective_from", "生效日期", date),
    Field("factor_pct", "税负因子", dec(2, "0", "100", digits=5, percent=True), required=False,
          aliases=("税负因子率", "factor")),
    Field("ends", "终止覆盖", yes_no, required=False, aliases=("终止",)),
    Field("note", "说明", name, required=False, aliases=("备注",)),
), key=("province", "operator", "account_no", "supply_mode", "invoice_type", "effective_from"),
    notes=(
    "每行是税负因子表的一行（单位 %，3.67 即 3.67%）：省份、运营商、电表户号、供电方式、票据类型"
    "留空表示“全部”。优先级：户号覆盖 > 运营商覆盖（本省优先于全部省份）> 省份 > 全部省份 > "
    "默认公式 (1+13%)/(1+进项税率)−1；同一级中指定票据类型优先，再指定供电方式优先。"
    "同一组合取生效日期不晚于账单截止日（period_end）的最新一行：一张账单只用一个税负因子，"
    "账期跨越变更时按截止日当天有效的行。拒绝加价的运营商：运营商行、票据类型留空、税负因子 0"
    "（铁塔自担税负）。终止覆盖填“是”且税负因子留空：自该日起该组合的覆盖结束。"
    "已生效（生效日期不晚于今天）的行不能改写，变更请新增一行；仅省管理员可以导入。",
    "Each row is a row of the tax-factor table (in percent: 3.67 = 3.67 %); an empty "
    "province, operator, account, supply type or invoice type means 'any'. Precedence: "
    "account override > operator override (the province's before all provinces') > "
    "province > all provinces > the default formula (1+13%)/(1+r_in)−1; within a level a "
    "row naming the invoice type wins, then one naming the supply type. Within one "
    "combination the latest row dated on or before the bill's period_end is in force: one "
    "factor per bill, so a bill whose period spans a change takes the row in force on its "
    "period end. An operator refusing the gross-up: an operator row, invoice type empty, "
    "factor 0 (the tower company bears the tax). ends = yes with no factor ends the "
    "combination's override from that date. A row already in force (dated today or "
    "earlier) cannot change: add a new dated row. Province admins only.",
))


def _names(records, column):
    return {r[column] for r in records if r.get(column)}


def _err(r, column, zh, en):
    return RowError(r["_row"], column, zh, en)


def check(records) -> list[RowError]:
    provinces = dict(Province.objects.filter(name__in=_names(records, "province"))
                     .values_list("name", "pk"))
    accounts = lookup_ids(SupplyAccount, "account_no", _names(records, "account_no"))
    home = account_provinces(accounts.values())
    errors = []
    for r in records:
        if r["province"] and r["province"] not in provinces:
            errors.append(_err(r, "province", f"省份 {r['province']} 不存在",
                               f"no such province {r['province']}"))
        if r["account_no"] and r["account_no"] not in accounts:
            errors.append(_err(r, "account_no", f"电表户号 {r['account_no']} 不存在",
                               f"unknown account_no {r['account_no']}"))
        elif r["account_no"] and r["province"] in provinces and \
                home.get(accounts[r["account_no"]]) not in (None, provinces[r["province"]]):
            errors.append(_err(r, "province", f"电表户号 {r['account_no']} 不属于 {r['province']}",
                               f"account {r['account_no']} is not in {r['province']}"))
        if r["ends"] and r["factor_pct"] is not None:
            errors.append(_err(r, "factor_pct", "终止覆盖的行不填税负因子",
                               "a row that ends an override has no factor"))
        if not r["ends"] and r["factor_pct"] is None:
            errors.append(_err(r, "factor_pct", "须填写税负因子（或终止覆盖填“是”）",
                               "factor_pct is required (or ends = yes)"))
    if errors:
        return errors
    existing = _existing(records)
    today = timezone.localdate()
    operators = dict(Operator.objects.values_list("code", "pk"))
    seen: dict[tuple, int] = {}
    for r in records:
        key = _key(r, provinces, accounts, home, operators)
        if key in seen:   # an account row with and without its province: one row
            errors.append(_err(r, "account_no", f"与第 {seen[key]} 行是同一行",
                               f"the same row as row {seen[key]}"))
        seen.setdefault(key, r["_row"])
        old = existing.get(key)
        if old is not None and in_force_by(old.effective_from, today) and \
                (old.factor, old.note) != (_factor(r), r["note"] or ""):
            errors.append(_err(
                r, "effective_from",
                f"{r['effective_from']} 起的这一行已生效，不能改写；变更请新增一行（新的生效日期）",
                f"the row in force from {r['effective_from']} cannot be rewritten; add a new "
                "row with its own date"))
    return errors


def _factor(r) -> Decimal | None:
    pct = r["factor_pct"]
    return None if pct is None else (pct / HUNDRED).quantize(Decimal("0.0001"))


def _ids(records):
    provinces = dict(Province.objects.filter(name__in=_names(records, "province"))
                     .values_list("name", "pk"))
    accounts = lookup_ids(SupplyAccount, "account_no", _names(records, "account_no"))
    return provinces, accounts, account_provinces(accounts.values())


def _key(r, provinces, accounts, home, operators) -> tuple:
    """The row's key as the database holds it: an account row is filed under the account's
    province, whatever the file says."""
    account_id = accounts.get(r["account_no"]) if r["account_no"] else None
    province_id = home.get(account_id) if account_id else provinces.get(r["province"])
    return (r["effective_from"], province_id, operators.get(r["operator"]), account_id,
            r["supply_mode"] or "", r["invoice_type"] or "")


def _existing(records) -> dict[tuple, TaxFactorRate]:
    """The table's rows on the dates the file names (the table is small: one query)."""
    days = {r["effective_from"] for r in records}
    return {tuple(getattr(rate, f) for f in KEY_FIELDS): rate
            for rate in TaxFactorRate.objects.filter(effective_from__in=days)
            .select_related("province", "operator", "account")}


def store(records, user=None, progress=None):
    provinces, accounts, home = _ids(records)
    operators = dict(Operator.objects.values_list("code", "pk"))
    existing = _existing(records)
    uid = user.pk if getattr(user, "pk", None) else None
    rows = []
    for r in records:
        key = _key(r, provinces, accounts, home, operators)
        rows.append({**dict(zip(KEY_FIELDS, key, strict=True)), "factor": _factor(r),
                     "note": r["note"] or "", "recorded_by_id": uid})
    touched: set = set()
    counts = upsert(TaxFactorRate, rows, KEY_FIELDS, ("factor", "note"), progress, touched)
    if touched:
        after = {tuple(getattr(rate, f) for f in KEY_FIELDS): rate
                 for rate in TaxFactorRate.objects.filter(
                     effective_from__in={k[0] for k in touched})
                 .select_related("province", "operator", "account")}
        entries = []
        for key in sorted(touched, key=str):
            now = as_dict(after[key])
            old = existing.get(key)
            entries.append((key_text(now), as_dict(old) if old else None, now))
        audit.record_many(user, "tax_factor.import", OBJECT_TYPE, entries,
                          reason="导入税负因子表 / tax-factor table import")
    return counts


def export(user):
    from towerledger.sites.tax_factors import visible

    qs = (visible(user).select_related("province", "operator", "account")
          .order_by("effective_from", "province__name", "operator__code", "account__account_no",
                    "supply_mode", "invoice_type"))
    for rate in qs.iterator(chunk_size=2000):
        row = as_dict(rate)
        yield {"province": row["province"], "operator": row["operator"],
               "account_no": row["account_no"], "supply_mode": row["supply_mode"],
               "invoice_type": row["invoice_type"], "effective_from": rate.effective_from,
               "factor_pct": None if rate.factor is None else
               (rate.factor * HUNDRED).quantize(Decimal("0.01")),
               "ends": "是" if rate.factor is None else "", "note": rate.note}
