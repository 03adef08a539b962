"""Import kinds of the generator program: ``outages`` (停电记录) and ``generator_runs``
(发电记录), as field teams report them today (CSV in UTF-8 or GBK, XLSX; Chinese or English
headers). Every bad row at once (row, column, reason in zh + en); a clerk only their city's
sites; natural keys outage_no and run_no (re-importing a file changes nothing)."""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from towerledger.access.scope import scoped
from towerledger.db.bulk import lookup_ids, upsert
from towerledger.domain.generator import hours_between, run_cost
from towerledger.exchange.authorise import combine, outside_rows
from towerledger.exchange.registry import Kind, register
from towerledger.importers import values as v
from towerledger.importers.schema import Field, RowError, Schema, code, dec_of, name
from towerledger.programs.generator import services
from towerledger.programs.generator.models import Billing, Outage, Run
from towerledger.sites.authorise import by_site
from towerledger.sites.models import Site

_DT = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：时](\d{1,2})"
                 r"(?:[:：分](\d{1,2})(?:\.\d+)?秒?)?分?)?$")


def datetime_cell(cell) -> datetime:
    """A date and time: 2024-07-20 22:30, 2024/7/20 22:30:00, 2024年7月20日 22时30分, ISO
    with T, an Excel serial with its fraction of a day, or what a workbook yields. Local
    time (the site's province: settings.TIME_ZONE); a date alone means 00:00."""
    tz = timezone.get_current_timezone()
    if isinstance(cell, datetime):
        return cell if timezone.is_aware(cell) else timezone.make_aware(cell, tz)
    if isinstance(cell, date):
        return datetime.combine(cell, time.min, tz)
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        if not 1 <= cell < 2958466:
            raise v.BadValue(f"无效的 Excel 日期序号：{cell}", f"not an Excel date serial: {cell}")
        # to the nearest second: a serial's float fraction of a day is rarely exact
        naive = datetime(1899, 12, 30) + timedelta(seconds=round(float(cell) * 86400))
        return timezone.make_aware(naive, tz)
    s = v.clean_text(cell)
    m = _DT.match(s)
    if m:
        y, mo, d, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
        try:
            return timezone.make_aware(datetime(y, mo, d, hh, mm, ss), tz)
        except ValueError:
            raise v.BadValue(f"日期时间不存在：{s}", f"no such date and time: {s}") from None
    if re.fullmatch(r"\d{5}(\.\d+)?", s):
        return datetime_cell(float(s))
    raise v.BadValue(f"无法识别的日期时间：{s}（应为 2024-07-20 22:30）",
                     f"not a date and time: {s} (expected 2024-07-20 22:30)")


OUTAGES = Schema("outages", "停电记录", (
    Field("outage_no", "停电编号", code, aliases=("停电单号",)),
    Field("site_code", "站址编码", code),
    Field("start", "停电开始时间", datetime_cell, aliases=("停电时间", "停电开始", "start_time")),
    Field("end", "来电时间", datetime_cell,
          aliases=("停电结束时间", "恢复时间", "复电时间", "end_time")),
    Field("cause", "停电原因", name, required=False, aliases=("原因",)),
), key=("outage_no",), notes=(
    "时间填到分钟，如 2024-07-20 22:30（也接受 2024/7/20 22:30、Excel 日期时间）；来电时间须晚于停电开始时间。",
    "Times to the minute, e.g. 2024-07-20 22:30 (2024/7/20 22:30 and Excel date-times too); "
    "end after start.",
))

RUNS = Schema("generator_runs", "发电记录", (
    Field("run_no", "发电单号", code, aliases=("发电编号", "发电工单号")),
    Field("outage_no", "停电编号", code, required=False, aliases=("停电单号",)),
    Field("site_code", "站址编码", code, required=False),
    Field("crew", "发电班组", name, required=False, aliases=("发电人员", "班组", "发电单位")),
    Field("start", "发电开始时间", datetime_cell, aliases=("发电开始", "start_time")),
    Field("end", "发电结束时间", datetime_cell, aliases=("发电结束", "end_time")),
    Field("hours", "发电时长", dec_of(Run, "hours"), required=False,
          aliases=("发电小时数", "发电时长小时")),
    Field("litres", "耗油量", dec_of(Run, "litres"), aliases=("油耗", "加油量", "耗油升数")),
    Field("fuel_price", "油价", dec_of(Run, "fuel_price"), aliases=("燃油单价", "油品单价")),
    Field("labour_cost", "人工费", dec_of(Run, "labour_cost"), required=False),
    Field("transport_cost", "运输费", dec_of(Run, "transport_cost"), required=False,
          aliases=("车辆费", "交通费")),
    Field("rated_lph", "额定油耗", dec_of(Run, "rated_lph"), required=False,
          aliases=("油机额定油耗", "额定油耗升每小时")),
    Field("paid_date", "支付日期", v.parse_date, required=False, aliases=("付款日期",)),
), key=("run_no",), notes=(
    "停电编号与站址编码至少填一个（都填时须一致）；无停电编号的发电记录会被稽核为阻断（GEN_NO_OUTAGE）。"
    "发电时长留空按开始、结束时间计算。发电费用 = 耗油量 × 油价（四舍五入到分）+ 人工费 + 运输费。"
    "填写支付日期即记为已支付（借 发电垫付 / 贷 银行存款）。",
    "outage_no or site_code (both: they must agree); a run without an outage is a BLOCK "
    "finding (GEN_NO_OUTAGE). Empty hours: from start and end. Cost = litres × fuel_price "
    "(to the fen) + labour_cost + transport_cost. A paid_date records the run as paid "
    "(Dr GEN_ADVANCE / Cr CASH).",
))


def err(record, column, zh, en):
    return RowError(record["_row"], column, zh, en)


def _names(schema):
    return tuple(f.name for f in schema.fields)


def _ordered(records, column="start", later="end"):
    return [err(r, later, "结束时间须晚于开始时间", "end must be after start")
            for r in records if r.get(column) and r.get(later) and r[later] <= r[column]]


# ---- outages -----------------------------------------------------------------------------

def check_outages(records) -> list[RowError]:
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records if r["site_code"]])
    errors = [err(r, "site_code", f"站址编码 {r['site_code']} 不存在（请先导入站址）",
                  f"unknown site_code {r['site_code']} (import sites first)")
              for r in records if r["site_code"] and r["site_code"] not in sites]
    errors += _ordered(records)
    billed = {o["outage_no"]: o for o in Outage.objects.filter(
        outage_no__in=[r["outage_no"] for r in records if r["outage_no"]],
        runs__billing__isnull=False).values("outage_no", "site__site_code", "start", "end")}
    for r in records:
        old = billed.get(r["outage_no"])
        if old and (old["site__site_code"], old["start"], old["end"]) != (
                r["site_code"], r["start"], r["end"]):
            errors.append(err(r, "outage_no", f"停电 {r['outage_no']} 的发电已出账，不能修改站址或时间",
                              f"outage {r['outage_no']} has billed runs: its site and times "
                              "cannot change"))
    return errors


def store_outages(records, user=None, progress=None):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    rows = [{"outage_no": r["outage_no"], "site_id": sites[r["site_code"]], "start": r["start"],
             "end": r["end"], "cause": r["cause"] or ""} for r in records]
    counts = upsert(Outage, rows, ("outage_no",), ("site_id", "start", "end", "cause"), progress)
    services.audit({r["site_id"] for r in rows})
    return counts


def export_outages(user):
    qs = scoped(user, Outage.objects.all()).order_by("outage_no")
    for row in qs.values_list("outage_no", "site__site_code", "start", "end", "cause") \
            .iterator(chunk_size=5000):
        yield dict(zip(_names(OUTAGES), (row[0], row[1], _local(row[2]), _local(row[3]), row[4]),
                       strict=True))


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M") if dt else ""


# ---- runs --------------------------------------------------------------------------------

RUN_FIELDS = ("outage_id", "site_id", "crew", "start", "end", "hours", "litres", "fuel_price",
              "labour_cost", "transport_cost", "rated_lph", "cost", "paid_date")


def _hours(r) -> Decimal | None:
    if r.get("hours") is not None:
        return r["hours"]
    if r.get("start") and r.get("end") and r["end"] > r["start"]:
        return round(hours_between(r["start"], r["end"]), 2)
    return None


def check_runs(records) -> list[RowError]:
    outages = {o["outage_no"]: o for o in Outage.objects.filter(
        outage_no__in=[r["outage_no"] for r in records if r["outage_no"]]).values(
        "outage_no", "pk", "site__site_code")}
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records if r["site_code"]])
    errors = _ordered(records)
    for r in records:
        if not r["outage_no"] and not r["site_code"] and not ({"outage_no", "site_code"} & r.get(
                "_bad", set())):
            errors.append(err(r, "outage_no", "停电编号与站址编码至少填一个",
                              "give outage_no or site_code"))
        if r["outage_no"] and r["outage_no"] not in outages:
            errors.append(err(r, "outage_no", f"停电编号 {r['outage_no']} 不存在（请先导入停电记录）",
                              f"unknown outage_no {r['outage_no']} (import outages first)"))
        if r["site_code"] and r["site_code"] not in sites:
            errors.append(err(r, "site_code", f"站址编码 {r['site_code']} 不存在（请先导入站址）",
                              f"unknown site_code {r['site_code']} (import sites first)"))
        o = outages.get(r["outage_no"])
        if o and r["site_code"] and o["site__site_code"] != r["site_code"]:
            errors.append(err(r, "site_code",
                              f"停电 {r['outage_no']} 属于站址 {o['site__site_code']}，不是 {r['site_code']}",
                              f"outage {r['outage_no']} is at site {o['site__site_code']}, "
                              f"not {r['site_code']}"))
    return errors + check_locked(records, outages)


# What a re-import may not change on a run already paid (its payment entry, Dr GEN_ADVANCE /
# Cr CASH at its site, carries its cost) or billed (its GENERATOR lines carry the split):
# (column, 中文) — the money, the site, and for a billed run what its lines explain too.
_MONEY = (("litres", "耗油量"), ("fuel_price", "油价"), ("labour_cost", "人工费"),
          ("transport_cost", "运输费"), ("site_code", "站址编码"))
_BILLED_ONLY = (("hours", "发电时长"), ("start", "发电开始时间"), ("end", "发电结束时间"),
                ("outage_no", "停电编号"))
_MONEY_COLUMNS = {c for c, _ in _MONEY} | {"paid_date"}
PAID_HOW = ("请在该油机发电记录页面使用『更正』", "use Correct on the run's page")
BILLED_HOW = ("请对其发电明细提出争议 → 调账", "dispute its GENERATOR lines → adjustment")


def _shown(value, empty="空") -> str:
    if value is None or value == "":
        return empty
    return _local(value) if isinstance(value, datetime) else str(value)


def check_locked(records, outages=None) -> list[RowError]:
    """Refuse, column by column, a row that would change a run already paid or billed:
    its litres, fuel price, labour, transport or site, its paid date (un-paying it
    included), and for a billed run also its hours, times and outage. An import posts
    neither the payment entry nor the GENERATOR lines again, so the journal would keep the
    old cost (GEN_ADVANCE ≠ runs paid − runs billed). A row that changes none of these
    passes (re-importing a file is idempotent); an unpaid, unbilled run may still be
    corrected by a file, and an unpaid billed run may still be paid by one."""
    if outages is None:
        outages = {o["outage_no"]: o for o in Outage.objects.filter(
            outage_no__in=[r["outage_no"] for r in records if r["outage_no"]]).values(
            "outage_no", "pk", "site__site_code")}
    locked = {x["run_no"]: x for x in Run.objects.filter(
        Q(paid_date__isnull=False) | Q(billing__isnull=False),
        run_no__in=[r["run_no"] for r in records if r["run_no"]]).values(
        "run_no", "litres", "fuel_price", "labour_cost", "transport_cost", "hours", "start",
        "end", "paid_date", "outage__outage_no", "site__site_code", "billing__id")}
    errors = []
    for r in records:
        old = locked.get(r["run_no"])
        if old is None or r.get("_bad"):
            continue
        billed = old["billing__id"] is not None
        o = outages.get(r["outage_no"])
        # the run's site as the row would store it (None: an unknown outage, refused above)
        site = o["site__site_code"] if o else None if r["outage_no"] else r["site_code"]
        new = {"litres": r["litres"], "fuel_price": r["fuel_price"],
               "labour_cost": r["labour_cost"] or Decimal("0.00"),
               "transport_cost": r["transport_cost"] or Decimal("0.00"), "site_code": site,
               "hours": _hours(r), "start": r["start"], "end": r["end"],
               "outage_no": r["outage_no"], "paid_date": r["paid_date"]}
        was = {**old, "outage_no": old["outage__outage_no"], "site_code": old["site__site_code"]}
        fields = _MONEY + (_BILLED_ONLY if billed else ())
        if old["paid_date"] is not None:
            fields += (("paid_date", "支付日期"),)
        state = ("已出账", "billed") if billed else ("已付款", "paid")
        how = BILLED_HOW if billed else PAID_HOW
        for column, zh in fields:
            x, y = was[column], new[column]
            if x == y or (column == "site_code" and y is None):
                continue
            if column == "paid_date" and y is None:
                what = ("不能通过导入取消付款", "it cannot be un-paid by an import")
            elif column in _MONEY_COLUMNS:
                what = ("金额不能通过导入修改", "its money cannot be changed by an import")
            else:
                what = ("不能通过导入修改", "it cannot be changed by an import")
            errors.append(err(
                r, column, f"发电单 {r['run_no']}：该油机发电记录{state[0]}，{what[0]}"
                f"（{zh} {_shown(x)} → {_shown(y)}），{how[0]}",
                f"run {r['run_no']} is {state[1]}: {what[1]} ({column} {_shown(x, 'empty')} → "
                f"{_shown(y, 'empty')}); {how[1]}"))
    return errors


def _outside_outages(records, importer):
    return outside_rows(records, importer.user, Outage, "outage_no")


def _outside_runs(records, importer):
    return outside_rows(records, importer.user, Run, "run_no")


def store_runs(records, user=None, progress=None):
    outages = {o["outage_no"]: o for o in Outage.objects.filter(
        outage_no__in=[r["outage_no"] for r in records if r["outage_no"]]).values(
        "outage_no", "pk", "site_id")}
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records if r["site_code"]])
    rows = []
    for r in records:
        o = outages.get(r["outage_no"])
        labour, transport = r["labour_cost"] or Decimal("0.00"), r["transport_cost"] or Decimal(
            "0.00")
        rows.append({"run_no": r["run_no"], "outage_id": o["pk"] if o else None,
                     "site_id": o["site_id"] if o else sites[r["site_code"]],
                     "crew": r["crew"] or "", "start": r["start"], "end": r["end"],
                     "hours": _hours(r), "litres": r["litres"], "fuel_price": r["fuel_price"],
                     "labour_cost": labour, "transport_cost": transport,
                     "rated_lph": r["rated_lph"],
                     "cost": run_cost(r["litres"], r["fuel_price"], labour, transport),
                     "paid_date": r["paid_date"]})
    counts = upsert(Run, rows, ("run_no",), RUN_FIELDS, progress)
    paid = Run.objects.filter(run_no__in=[r["run_no"] for r in rows if r["paid_date"]]) \
        .select_related("site")
    services.record_payments(paid, user)
    services.audit({r["site_id"] for r in rows})
    return counts


def export_runs(user):
    qs = scoped(user, Run.objects.all()).order_by("run_no")
    for row in qs.values_list("run_no", "outage__outage_no", "site__site_code", "crew", "start",
                              "end", "hours", "litres", "fuel_price", "labour_cost",
                              "transport_cost", "rated_lph", "paid_date").iterator(
                                  chunk_size=5000):
        row = list(row)
        row[4], row[5] = _local(row[4]), _local(row[5])
        yield dict(zip(_names(RUNS), row, strict=True))


def runs_outcome(records) -> dict:
    """The file's runs held by an open BLOCK finding, for the import's result page."""
    runs = dict(Run.objects.filter(run_no__in=[r["run_no"] for r in records])
                .values_list("pk", "run_no"))
    held = services.held_run_ids(runs)
    billed = set(Billing.objects.filter(run_id__in=runs).values_list("run_id", flat=True))
    return {"runs": len(runs), "held_runs": sorted(runs[pk] for pk in held),
            "billed": len(billed)}


def register_kinds():
    register(Kind(OUTAGES.kind, OUTAGES, check_outages, store_outages, export_outages,
                  _names(OUTAGES), authorise=combine(by_site(), _outside_outages)))
    register(Kind(RUNS.kind, RUNS, check_runs, store_runs, export_runs, _names(RUNS),
                  authorise=combine(by_site(), _outside_outages, _outside_runs),
                  outcome=runs_outcome))
