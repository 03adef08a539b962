"""One function per audit rule (稽核规则). Each takes the Context and the rule's thresholds
and returns None or ``(message_zh, message_en, figures)``; figures are JSON-safe strings."""

from datetime import timedelta
from decimal import Decimal

from towerledger.domain.audits import Context

HUNDRED = Decimal(100)
ONE = Decimal(1)


def q(x: Decimal, places: int = 2) -> str:
    return str(Decimal(x).quantize(Decimal(1).scaleb(-places)))


def pct(actual: Decimal, benchmark: Decimal) -> Decimal:
    return (actual - benchmark) / benchmark * HUNDRED


def figures(benchmark, actual, threshold, deviation=None, places=2, **extra) -> dict:
    out = {"benchmark": q(benchmark, places), "actual": q(actual, places),
           "threshold": str(threshold)}
    if deviation is not None:
        out["deviation_pct"] = q(deviation, 1)
    return out | {k: (q(v) if isinstance(v, Decimal) else v) for k, v in extra.items()}


# ---- identity and period ----------------------------------------------------------------

def dup_bill_no(c: Context, t):
    other = next((h for h in c.history if h.bill_no == c.bill.bill_no), None)
    if other:
        return (f"缴费单号 {c.bill.bill_no} 已存在（{other.period_start}～{other.period_end}，"
                f"金额 {q(other.amount)}）", f"bill number {c.bill.bill_no} already seen "
                f"({other.period_start}..{other.period_end}, amount {q(other.amount)})",
                {"other_bill_no": other.bill_no, "other_amount": q(other.amount),
                 "actual": q(c.bill.amount)})
    return None


def dup_content(c: Context, t):
    b = c.bill
    other = next((h for h in c.history if h.bill_no != b.bill_no
                  and (h.period_start, h.period_end, h.amount) == (b.period_start,
                                                                   b.period_end, b.amount)),
                 None)
    if other:
        return (f"与缴费单 {other.bill_no} 期间和金额相同", f"same period and amount as bill "
                f"{other.bill_no}", {"other_bill_no": other.bill_no, "actual": q(b.amount)})
    return None


def overlap(c: Context, t):
    b = c.bill
    for h in c.history:
        days = (min(h.period_end, b.period_end) - max(h.period_start, b.period_start)).days + 1
        if days > 0:
            return (f"与缴费单 {h.bill_no}（{h.period_start}～{h.period_end}）重叠 {days} 天",
                    f"overlaps bill {h.bill_no} ({h.period_start}..{h.period_end}) by "
                    f"{days} days", {"other_bill_no": h.bill_no, "overlap_days": days})
    return None


def gap(c: Context, t):
    """Days uncovered since the latest earlier bill this one does not overlap (a bill that
    overlaps another is OVERLAP's business, not a gap measured from the one before it)."""
    b = c.bill
    earlier = [h for h in c.history if h.period_start < b.period_start]
    if any(h.period_end >= b.period_start for h in earlier):
        return None   # it overlaps (or abuts inside) an earlier bill: no gap before it
    prev = c.previous()
    if not prev:
        return None
    days = (b.period_start - prev[0].period_end).days - 1
    if days > t["max_gap_days"]:
        return (f"与上期缴费单 {prev[0].bill_no} 之间断档 {days} 天", f"{days} days uncovered "
                f"since bill {prev[0].bill_no}", {"gap_days": days,
                                                  "threshold": str(t["max_gap_days"])})
    return None


def period_length(c: Context, t):
    expected = Decimal(c.account.payment_cycle_months) * Decimal("30.4375")
    ratio = Decimal(c.bill.days) / expected
    if t["min_ratio"] <= ratio <= t["max_ratio"]:
        return None
    return (f"计费周期 {c.bill.days} 天，缴费周期 {c.account.payment_cycle_months} 个月"
            f"（约 {q(expected, 0)} 天）", f"period of {c.bill.days} days for a "
            f"{c.account.payment_cycle_months}-month cycle (about {q(expected, 0)} days)",
            figures(expected, Decimal(c.bill.days), f"{t['min_ratio']}–{t['max_ratio']}×",
                    pct(Decimal(c.bill.days), expected)))


# ---- meter, amount and price --------------------------------------------------------------

def _readings(c: Context):
    b = c.bill
    if b.start_reading is None or b.end_reading is None:
        return None
    return b.start_reading, b.end_reading, b.multiplier or c.account.multiplier


def _meter_change(c: Context):
    """(old meter's end, new meter's start) of a declared meter change (换表), or None."""
    b = c.bill
    if not b.meter_changed or b.old_meter_end_reading is None \
            or b.new_meter_start_reading is None:
        return None
    return b.old_meter_end_reading, b.new_meter_start_reading


def metered_kwh(c: Context) -> tuple[Decimal, str, str] | None:
    """kWh the readings give, with how (Chinese, English): (end − start) × multiplier +
    loss, or across a declared meter change ((old end − start) + (end − new start)) ×
    multiplier + loss. None without readings."""
    r, b = _readings(c), c.bill
    if r is None:
        return None
    start, end, mult = r
    loss = b.loss_kwh or 0
    change = _meter_change(c)
    if change is None:
        return ((end - start) * mult + loss, f"(止度 {end} − 起度 {start}) × 倍率 {mult} + 损耗",
                f"(end {end} − start {start}) × {mult} + loss")
    old_end, new_start = change
    return (((old_end - start) + (end - new_start)) * mult + loss,
            f"((旧表止码 {old_end} − 起度 {start}) + (止度 {end} − 新表起码 {new_start})) × "
            f"倍率 {mult} + 损耗", f"((old meter end {old_end} − start {start}) + (end {end} − "
            f"new meter start {new_start})) × {mult} + loss")


def reading_mismatch(c: Context, t):
    r, b = _readings(c), c.bill
    if r is None or b.kwh is None or (r[1] < r[0] and not b.meter_changed):
        return None   # a rollback is METER_ROLLBACK's
    if b.meter_changed and _meter_change(c) is None:
        return None   # a change declared without the two meters' readings: nothing to add up
    computed, how_zh, how_en = metered_kwh(c)
    if abs(computed - b.kwh) <= t["tolerance_kwh"]:
        return None
    return (f"{how_zh} = {q(computed)} kWh，账单电量 {q(b.kwh)} kWh",
            f"{how_en} = {q(computed)} kWh, bill says {q(b.kwh)} kWh",
            figures(computed, b.kwh, f"±{t['tolerance_kwh']} kWh",
                    pct(b.kwh, computed) if computed else None))


def meter_rollback(c: Context, t):
    r, b = _readings(c), c.bill
    if r is None or b.meter_changed:
        return None   # a declared change: the new meter starts again, not a rollback
    if r[1] >= r[0]:
        return None
    return (f"止度 {r[1]} 小于起度 {r[0]}，且未登记换表", f"end reading {r[1]} below start "
            f"reading {r[0]} with no meter change", {"start_reading": str(r[0]),
                                                     "end_reading": str(r[1])})


def amount_mismatch(c: Context, t):
    b = c.bill
    if b.kwh is None or b.unit_price is None or not b.amount:
        return None
    expected = b.kwh * b.unit_price
    diff = abs(expected - b.amount)
    if diff <= t["tolerance_yuan"] or diff / b.amount * HUNDRED <= t["tolerance_pct"]:
        return None
    return (f"电量 × 单价 = {q(expected)} 元，账单金额 {q(b.amount)} 元", f"kWh × price = "
            f"{q(expected)}, bill amount {q(b.amount)}",
            figures(expected, b.amount, f"{t['tolerance_yuan']} 元 & {t['tolerance_pct']}%",
                    pct(b.amount, expected) if expected else None))


def unit_price(c: Context) -> Decimal | None:
    b = c.bill
    if b.unit_price is not None:
        return b.unit_price
    return b.amount / b.kwh if b.kwh else None


# c.account carries the account's supply terms on the bill's period end (dated master
# data: bills.audit asks sites.terms), so a bill before a 转改直 is judged as resupply.
def price_contract(c: Context, t):
    price, contract = unit_price(c), c.account.contract_price
    if price is None or not contract or price <= contract * (ONE + t["over_pct"] / HUNDRED):
        return None
    return (f"单价 {q(price, 4)} 高于合同价 {q(contract, 4)}", f"unit price {q(price, 4)} "
            f"above the contract price {q(contract, 4)}",
            figures(contract, price, f"+{t['over_pct']}%", pct(price, contract), 4))


def price_cap(c: Context, t):
    price, cap = unit_price(c), c.account.price_cap
    if price is None or not cap or price <= cap:
        return None
    return (f"单价 {q(price, 4)} 超过上限 {q(cap, 4)}", f"unit price {q(price, 4)} above the "
            f"cap {q(cap, 4)}", figures(cap, price, str(cap), pct(price, cap), 4))


# ---- benchmarks (标杆) -------------------------------------------------------------------

def _over(c: Context, bench: Decimal, over_pct: Decimal, zh: str, en: str):
    kwh = c.bill.kwh
    if kwh is None or not bench or kwh <= bench * (ONE + over_pct / HUNDRED):
        return None
    dev = pct(kwh, bench)
    step = "（期间无新增租户）" if not c.load.new_tenancy_in_period else ""
    return (f"用电量超出{zh} {q(dev, 1)}%（标杆 {q(bench)} kWh，实际 {q(kwh)} kWh）{step}",
            f"kWh {q(dev, 1)}% above the {en} (benchmark {q(bench)} kWh, actual {q(kwh)} kWh)",
            figures(bench, kwh, f"+{over_pct}%", dev,
                    new_tenancy=c.load.new_tenancy_in_period))


def bench_rated(c: Context, t):
    wd = c.load.rated_power_wd
    if wd is None:
        return None
    return _over(c, wd / 1000 * t["hours"], t["over_pct"], "额定功率标杆",
                 "rated-power benchmark")


def bench_dc(c: Context, t):
    ad = c.load.dc_current_ad
    if ad is None:
        return None
    bench = ad * t["voltage"] * t["hours"] / 1000 * t["pue"]
    return _over(c, bench, t["over_pct"], "直流负载标杆", "DC-load benchmark")


def bench_smart(c: Context, t):
    smart, kwh = c.load.smart_kwh, c.bill.kwh
    if smart is None or not smart or kwh is None or c.load.smart_days < c.bill.days:
        return None
    dev = pct(kwh, smart)
    if abs(dev) <= t["tolerance_pct"]:
        return None
    return (f"账单电量与智能电表相差 {q(dev, 1)}%（电表 {q(smart)} kWh，账单 {q(kwh)} kWh）",
            f"bill kWh differs from the smart meter by {q(dev, 1)}% (meter {q(smart)}, "
            f"bill {q(kwh)})", figures(smart, kwh, f"±{t['tolerance_pct']}%", dev))


# ---- history -------------------------------------------------------------------------------

def _per_day(bills) -> Decimal | None:
    days = sum(h.days for h in bills)
    return sum(h.kwh for h in bills) / days if days else None


def yoy(c: Context, t):
    b = c.bill
    if b.kwh is None:
        return None
    lo, hi = b.period_start - timedelta(days=365), b.period_end - timedelta(days=365)
    year_ago = [h for h in c.history if h.kwh is not None
                and (min(h.period_end, hi) - max(h.period_start, lo)).days + 1 > h.days / 2]
    before = _per_day(year_ago)
    if not before or b.kwh_per_day <= before * (ONE + t["over_pct"] / HUNDRED):
        return None
    dev = pct(b.kwh_per_day, before)
    return (f"日均用电 {q(b.kwh_per_day)} kWh，同比上升 {q(dev, 1)}%（去年同期 {q(before)}）",
            f"{q(b.kwh_per_day)} kWh/day, {q(dev, 1)}% above the same period last year "
            f"({q(before)})", figures(before, b.kwh_per_day, f"+{t['over_pct']}%", dev))


def mom(c: Context, t):
    b, prev = c.bill, c.previous()
    if b.kwh is None or not prev or prev[0].kwh is None or not prev[0].kwh:
        return None
    before = prev[0].kwh_per_day
    dev = pct(b.kwh_per_day, before)
    if abs(dev) <= t["change_pct"]:
        return None
    return (f"日均用电 {q(b.kwh_per_day)} kWh，较上期 {q(before)} 变化 {q(dev, 1)}%",
            f"{q(b.kwh_per_day)} kWh/day, {q(dev, 1)}% against the previous bill "
            f"({q(before)})", figures(before, b.kwh_per_day, f"±{t['change_pct']}%", dev,
                                      new_tenancy=c.load.new_tenancy_in_period))


def _close(a: Decimal, b: Decimal, tolerance_pct: Decimal) -> bool:
    return abs(a - b) <= abs(b) * tolerance_pct / HUNDRED


def estimated(c: Context, t):
    b = c.bill
    n = int(t["bills_running"]) - 1
    prev = c.previous(n)
    if b.kwh is None or not b.kwh or len(prev) < n or any(h.kwh is None for h in prev):
        return None
    tol = t["tolerance_pct"]
    same_kwh = all(_close(b.kwh, h.kwh, tol) for h in prev)
    same_rate = all(_close(b.kwh_per_day, h.kwh_per_day, tol) for h in prev)
    if not (same_kwh or same_rate):
        return None
    what = ("电量", "kWh") if same_kwh else ("日均用电", "kWh per day")
    return (f"连续 {n + 1} 期{what[0]}相同（{q(b.kwh)} kWh），疑似估抄",
            f"same {what[1]} {n + 1} bills running ({q(b.kwh)} kWh): estimated?",
            {"actual": q(b.kwh), "bills": [h.bill_no for h in prev]})


# ---- tenants and invoices -------------------------------------------------------------------

def no_tenant(c: Context, t):
    days = c.load.no_tenant_days
    if days <= 0:
        return None
    return (f"计费期间有 {days} 天站址无在租租户，费用由铁塔自担", f"{days} days of the period "
            f"with no active tenancy on a fed site (tower-borne)", {"no_tenant_days": days,
                                                                   "period_days": c.bill.days})


def invoice(c: Context, t):
    if c.account.supply_mode != "RESUPPLY" or c.bill.invoice_type not in ("", "RECEIPT"):
        return None
    kind = "收据" if c.bill.invoice_type == "RECEIPT" else "无票"
    return (f"转供电缴费单仅有{kind}，无法抵扣进项税", f"resupply bill with "
            f"{'a receipt' if c.bill.invoice_type else 'no invoice'} (no input VAT)",
            {"invoice_type": c.bill.invoice_type or "NONE"})


RULES = {
    "DUP_BILL_NO": dup_bill_no, "DUP_CONTENT": dup_content, "OVERLAP": overlap, "GAP": gap,
    "PERIOD_LENGTH": period_length, "READING_MISMATCH": reading_mismatch,
    "METER_ROLLBACK": meter_rollback, "AMOUNT_MISMATCH": amount_mismatch,
    "PRICE_CONTRACT": price_contract, "PRICE_CAP": price_cap, "BENCH_RATED": bench_rated,
    "BENCH_DC": bench_dc, "BENCH_SMART": bench_smart, "YOY": yoy, "MOM": mom,
    "ESTIMATED": estimated, "NO_TENANT": no_tenant, "INVOICE": invoice,
}
