"""The legacy ledger's import kinds: ``legacy_ledger`` (per site, operator and month: pushed,
confirmed, written off, outstanding, with the original dates) and ``legacy_unapplied``
(unapplied cash per operator and city). Province admins only (no ``authorise``: the
exchange refuses everybody else); every bad row at once, in Chinese and English."""

from django.utils import timezone

from towerledger.db.bulk import chunked
from towerledger.domain import opening
from towerledger.domain.codes import OperatorCode
from towerledger.exchange.registry import Kind, register
from towerledger.importers import values as v
from towerledger.importers.schema import (
    Field,
    RowError,
    Schema,
    code,
    code_of,
    date,
    dec_of,
    enum,
    org_name,
)
from towerledger.org.models import City, Operator
from towerledger.programs.history import services
from towerledger.programs.history.models import LegacyRow, LegacyUnapplied
from towerledger.sites.models import Site


def month_cell(cell):
    """账期: 2023-03, 2023/3, 2023年3月, 202303, a date or an Excel date serial."""
    try:
        return opening.parse_month(cell)
    except ValueError:
        pass
    try:
        return v.parse_date(cell).replace(day=1)
    except v.BadValue:
        raise v.BadValue(f"无法识别的账期：{cell}（应为 2024-03 或 2024年3月）",
                         f"not a month: {cell} (expected 2024-03)") from None


def _money(name, minimum="0"):
    return dec_of(LegacyRow, name, minimum)


batch_code = code_of("plain", 20)

LEGACY_LEDGER = Schema("legacy_ledger", "历史台账", (
    Field("site_code", "站址编码", code, aliases=("站址编号", "站址")),
    Field("operator", "运营商", enum(OperatorCode), aliases=("客户",)),
    Field("month", "账期", month_cell, aliases=("月份", "所属月份", "费用月份")),
    Field("pushed", "推送金额", _money("pushed"), aliases=("应收金额", "推送")),
    Field("confirmed", "确认金额", _money("confirmed"), required=False,
          aliases=("已确认金额", "确认")),
    Field("written_off", "核销金额", _money("written_off"), required=False,
          aliases=("已核销金额", "已核销", "回款金额")),
    Field("outstanding", "欠费金额", _money("outstanding"), aliases=("未核销金额", "欠费")),
    Field("push_date", "推送日期", date),
    Field("confirm_date", "确认日期", date, required=False),
    Field("write_off_date", "核销日期", date, required=False, aliases=("回款日期",)),
    Field("city", "地市", org_name, required=False),
    Field("batch", "批次", batch_code, required=False, aliases=("批次号", "文件批次")),
), key=("site_code", "operator", "month"), notes=(
    "One row per site, operator and month of the legacy ledger. pushed = written_off + "
    "outstanding must hold; confirmed ≤ pushed; written_off ≤ confirmed.",
    "Idempotent by (site_code, operator, month): a row already taken over with the same "
    "figures is skipped, with other figures it is an error (taken-over lines are never "
    "edited: correct them with an adjustment).",
    "batch (批次) names the file or delivery; default LEGACY.",
))

LEGACY_UNAPPLIED = Schema("legacy_unapplied", "历史预收", (
    Field("operator", "运营商", enum(OperatorCode), aliases=("客户",)),
    Field("city", "地市", org_name),
    Field("amount", "金额", dec_of(LegacyUnapplied, "amount", "0.01"),
          aliases=("未核销金额", "预收金额")),
    Field("received_date", "到账日期", date, aliases=("回款日期", "日期")),
    Field("batch", "批次", batch_code, required=False, aliases=("批次号",)),
), key=("operator", "city", "received_date", "batch"), notes=(
    "Legacy unapplied cash (预收/未核销回款) per operator and city: becomes an unapplied "
    "receipt that matching uses later. Idempotent by (batch, operator, city, received_date).",
))


def _err(r, column, zh, en):
    return RowError(r["_row"], column, zh, en)


def check_legacy(records):
    errors = []
    today = timezone.localdate()
    sites = {}
    for part in chunked(list({r["site_code"] for r in records if r.get("site_code")})):
        sites.update((c, city) for c, city in Site.objects.filter(site_code__in=part)
                     .values_list("site_code", "county__city__name"))
    ops = set(Operator.objects.values_list("code", flat=True))
    done = services.existing_rows([r for r in records if r.get("site_code")])
    for r in records:
        if r.get("site_code") and r["site_code"] not in sites:
            errors.append(_err(r, "site_code", f"站址 {r['site_code']} 不存在",
                               f"unknown site_code {r['site_code']}"))
        elif r.get("city") and r.get("site_code") and sites[r["site_code"]] != r["city"]:
            errors.append(_err(r, "city", f"站址 {r['site_code']} 属于 {sites[r['site_code']]}"
                                          f"，不是 {r['city']}",
                               f"site {r['site_code']} is in {sites[r['site_code']]}, not "
                               f"{r['city']}"))
        if r.get("operator") and r["operator"] not in ops:
            errors.append(_err(r, "operator", f"运营商 {r['operator']} 不存在",
                               f"unknown operator {r['operator']}"))
        needed = ("month", "pushed", "outstanding", "push_date")
        if any(r.get(n) is None for n in needed):
            continue
        for column, zh, en in opening.check_row(services.legacy_of(r), today):
            errors.append(_err(r, column, zh, en))
        old = done.get((r.get("site_code"), r.get("operator"), r["month"]))
        if old is not None and not services.same_figures(old, r):
            errors.append(_err(r, "site_code",
                               f"{r['site_code']}/{r['operator']}/{r['month']:%Y-%m} 已接管且数字不同"
                               "（接管的明细不可修改，请用调账更正）",
                               f"{r['site_code']}/{r['operator']}/{r['month']:%Y-%m} was taken "
                               "over with other figures (taken-over lines are never edited; "
                               "correct them with an adjustment)"))
    return errors


def check_unapplied(records):
    errors = []
    today = timezone.localdate()
    cities = set(City.objects.values_list("name", flat=True))
    ops = set(Operator.objects.values_list("code", flat=True))
    known = {(b, o, c, d): a for b, o, c, d, a in LegacyUnapplied.objects.values_list(
        "batch", "operator__code", "city__name", "received_date", "amount")}
    for r in records:
        if r.get("city") and r["city"] not in cities:
            errors.append(_err(r, "city", f"地市 {r['city']} 不存在", f"unknown city {r['city']}"))
        if r.get("operator") and r["operator"] not in ops:
            errors.append(_err(r, "operator", f"运营商 {r['operator']} 不存在",
                               f"unknown operator {r['operator']}"))
        if r.get("received_date") and r["received_date"] > today:
            errors.append(_err(r, "received_date", f"到账日期 {r['received_date']} 晚于今天",
                               f"received_date {r['received_date']} is in the future"))
        key = (r.get("batch") or services.DEFAULT_BATCH, r.get("operator"), r.get("city"),
               r.get("received_date"))
        if key in known and r.get("amount") is not None and known[key] != r["amount"]:
            errors.append(_err(r, "amount", f"该笔历史预收已接管，金额 {known[key]} 不同",
                               f"this unapplied cash was taken over with amount {known[key]}"))
    return errors


LEGACY_EXPORT = ("site_code", "operator", "city", "month", "pushed", "confirmed",
                 "written_off", "outstanding", "push_date", "confirm_date", "write_off_date",
                 "batch", "confirmed_line", "pending_line", "receipt_no")


def export_legacy(user):
    from towerledger.access.scope import scoped

    for r in scoped(user, LegacyRow.objects.all()).order_by(
            "city__name", "site__site_code", "operator__code", "month").values_list(
            "site__site_code", "operator__code", "city__name", "month", "pushed", "confirmed",
            "written_off", "outstanding", "push_date", "confirm_date", "write_off_date",
            "batch", "confirmed_line_id", "pending_line_id", "receipt__receipt_no"):
        yield dict(zip(LEGACY_EXPORT, (*r[:3], f"{r[3]:%Y-%m}", *r[4:12],
                                       f"L{r[12]}" if r[12] else "",
                                       f"L{r[13]}" if r[13] else "", r[14] or ""), strict=True))


UNAPPLIED_EXPORT = ("operator", "city", "amount", "received_date", "batch", "receipt_no")


def export_unapplied(user):
    from towerledger.access.scope import scoped

    for r in scoped(user, LegacyUnapplied.objects.all()).order_by(
            "city__name", "operator__code", "received_date").values_list(
            "operator__code", "city__name", "amount", "received_date", "batch",
            "receipt__receipt_no"):
        yield dict(zip(UNAPPLIED_EXPORT, r, strict=True))


def register_kinds():
    register(Kind("legacy_ledger", LEGACY_LEDGER, check_legacy, services.store_legacy,
                  export_legacy, LEGACY_EXPORT))
    register(Kind("legacy_unapplied", LEGACY_UNAPPLIED, check_unapplied,
                  services.store_unapplied, export_unapplied, UNAPPLIED_EXPORT))
