"""An allocation line's explanation (分摊说明), in words, from its numbers.

The allocation stores the numbers and codes a line was computed from (``domain.allocation``:
the site's part once per bill and site, the line's own part per line); the sentences a
clerk or an operator reads, in Chinese or English, are rendered from them here when the
line is read. Nothing bilingual is stored per line, and one function says each sentence.

``render(trace)`` takes a whole trace (site part, line part and the line's figures:
share, cost share, tax factor, tax amount, receivable) and returns ``(en, zh)``.
``split`` and ``expand`` turn a whole trace into what is stored and back, losslessly.

Pure Python, no Django.
"""

from fractions import Fraction

from towerledger.domain.codes import ZH, SettlementMode
from towerledger.domain.tax import LEVEL_EN, LEVEL_ZH

# Why a part of a site is tower-borne, in the order the trace lists them (the one table of
# these labels: pages and reports read it too).
TOWER_REASONS = {
    "vacant": ("无租户在网", "no tenancy active"),
    "own_load": ("铁塔自用负荷", "tower's own load"),
    "common": ("公共负荷铁塔承担", "common load borne by the tower"),
    "zero_weight": ("权重全为零", "all weights zero"),
    "lump_sum": ("包干租户计量份额", "lump-sum tenancies' metered share"),
}

# The part of a trace every line of one bill's site shares: stored once per (bill, site).
SITE_KEYS = ("bill_no", "period", "days", "amount", "kwh", "site_code", "site_split",
             "site_share", "tenancies", "runs", "lines")
# What the line's row already holds (Line columns): never stored twice.
FIGURES = ("share", "cost_share", "tax_factor", "tax_amount", "receivable")
# Derived from the rest when read.
DERIVED = ("rounding", "text_en", "text_zh")
VERSION = 2   # a stored line part says so: {"v": 2, …}



# ---- numbers as text ---------------------------------------------------------------------

def frac(x: Fraction) -> str:
    return str(x)


def fixed(n: int, d: int, places: int) -> str:
    """n/d half-up (away from zero) to ``places`` decimals, as text, in integers: what
    ``str(round_half_up(Fraction(n, d), places))`` says, a few times faster (explanations
    print several of these per line, a province's month is ~300,000 lines)."""
    q, r = divmod(abs(n) * 10 ** places, d)
    if 2 * r >= d:
        q += 1
    whole, part = divmod(q, 10 ** places)
    return f"{'-' if n < 0 and q else ''}{whole}.{part:0{places}d}"   # places ≥ 1


def num(x, places: int = 4) -> str:
    """A fraction as a plain decimal string, trailing zeros dropped when places is 4."""
    if not isinstance(x, Fraction | int):
        x = Fraction(x)   # a Decimal, exactly
    text = fixed(x.numerator, x.denominator, places)
    return text.rstrip("0").rstrip(".") if places == 4 else text


def pct(x: Fraction) -> str:
    return f"{fixed(x.numerator * 100, x.denominator, 4)}%"


def rounding_note(amount: Fraction, exact: Fraction, cost, n: int) -> str:
    yuan = amount * exact
    floor = Fraction(int(yuan * 100), 100)
    extra = " + 1 leftover fen" if Fraction(str(cost)) > floor else ""
    return (f"largest remainder over {n} lines: exact {num(yuan, 6)} "
            f"-> floor {fixed(floor.numerator, floor.denominator, 2)}{extra} = {cost}")


# ---- sentences ---------------------------------------------------------------------------

def head(t: dict) -> tuple[str, str]:
    start, end = t["period"]
    site_share = pct(Fraction(t["site_share"]))
    en = (f"Bill {t['bill_no']}, {start} to {end} ({t['days']} days), {t['amount']} yuan; "
          f"site {t['site_code']} takes {t['site_split']}% of it ({site_share} of the bill).")
    zh = (f"缴费单{t['bill_no']}：{start}至{end}，共{t['days']}天，金额{t['amount']}元；"
          f"站址{t['site_code']}分摊比例{t['site_split']}%（占缴费单{site_share}）。")
    return en, zh


def run_text(r: dict) -> tuple[str, str]:
    span = f"{r['from']}..{r['to']} ({r['days']} d)"
    zspan = f"{r['from']}至{r['to']}（{r['days']}天）"
    name = ZH.get(r["method"], r["method"])
    if r["method"] == "SUBMETER":
        own, common = pct(Fraction(r["own_share"])), pct(Fraction(r["common_share"]))
        return (f"{span} SUBMETER: own metered {r['metered_kwh']} kWh = {own} of the site, "
                f"plus common load {common}",
                f"{zspan}{name}：自身计量{r['metered_kwh']}千瓦时，占站址{own}，另分公共负荷{common}")
    share = pct(Fraction(r["share_of_day"]))
    return f"{span} {r['method']}: {share} of each day", f"{zspan}{name}：每天分得{share}"


def tenancy_text(t: dict) -> tuple[str, str]:
    head_en, head_zh = head(t)
    runs = [run_text(r) for r in t["daily_shares"]]
    how_en = "; ".join(en for en, _ in runs) or "no share on any day"
    how_zh = "；".join(zh for _, zh in runs) or "每天份额均为零"
    metered = Fraction(t["exact_share"])
    of_site = pct(Fraction(t["exact_share_of_site"]))
    exact_yuan = num(Fraction(t["amount"]) * metered, 6)
    first, last = t["active"]
    days, active = t["days"], t["active_days"]
    en = (f"{head_en} {t['operator']} tenancy {t['tenancy_id']} was active {active} of {days} "
          f"days ({first} to {last}). {how_en}. Mean share of the site {of_site}, of the bill "
          f"{pct(metered)} = {exact_yuan} yuan")
    zh = (f"{head_zh}{t['operator']}租户{t['tenancy_id']}在网{active}/{days}天（{first}至{last}）。"
          f"{how_zh}。日均占站址{of_site}，占缴费单{pct(metered)}，精确金额{exact_yuan}元")
    if t["mode"] == SettlementMode.LUMP_SUM:
        en += (". LUMP_SUM: this metered share is tower-borne; the tenancy pays its monthly "
               "lump sum instead, so cost share and receivable here are 0.00.")
        zh += "。包干：该计量份额由铁塔承担，租户按月包干费结算，本缴费单分摊额与应收均为0.00元。"
        return en, zh
    cost, f, tax, receivable = (t["cost_share"], t["tax_factor"], t["tax_amount"],
                                t["receivable"])
    en += f", rounded by largest remainder to {cost} yuan."
    zh += f"，按最大余额法舍入为{cost}元。"
    if t["mode"] == SettlementMode.RESALE:
        en += f" RESALE: tax factor {f} adds {tax}, receivable {receivable} yuan."
        zh += f"转售：税负因子{f}，税额{tax}元，应收{receivable}元。"
    else:
        en += f" ON_BEHALF: no tax factor, receivable {receivable} yuan."
        zh += f"代垫：不计税负因子，应收{receivable}元。"
    return en, zh


def tower_text(t: dict) -> tuple[str, str]:
    head_en, head_zh = head(t)
    parts = [(reason, Fraction(x)) for reason, x in t["tower_borne"]]
    en_parts = ", ".join(f"{TOWER_REASONS[r][1]} {pct(x)}" for r, x in parts) or "nothing"
    zh_parts = "，".join(f"{TOWER_REASONS[r][0]}{pct(x)}" for r, x in parts) or "无"
    share = Fraction(t["exact_share"])
    exact_yuan = num(Fraction(t["amount"]) * share, 6)
    cost = t["cost_share"]
    en = (f"{head_en} Tower-borne part of the site: {en_parts}; in all {pct(share)} of the "
          f"bill = {exact_yuan} yuan, rounded by largest remainder (tower-borne rows last in "
          f"ties) to {cost} yuan. Nobody is billed for it.")
    zh = (f"{head_zh}铁塔自担部分：{zh_parts}；合计占缴费单{pct(share)}，精确金额{exact_yuan}元，"
          f"按最大余额法（同余数时铁塔自担最后）舍入为{cost}元，不向运营商收取。")
    return en, zh


def tax_source_text(s: dict) -> tuple[str, str]:
    """Where a RESALE line's tax factor came from (``domain.tax.Found.trace``)."""
    if s.get("row_id") is None:
        return (f"Tax factor {s['factor']} from the default formula (1+13%)/(1+r_in)−1 "
                f"(looked up on the bill's period end {s['on']}; no row applies).",
                f"税负因子 {s['factor']} 按默认公式 (1+13%)/(1+进项税率)−1 计算"
                f"（按账单截止日 {s['on']} 查表，无适用行）。")
    return (f"Tax factor {s['factor']} from tax-factor row {s['row_id']} "
            f"({LEVEL_EN[s['level']]}, in force from {s['effective_from']}; looked up "
            f"on the bill's period end {s['on']}).",
            f"税负因子 {s['factor']} 取自税负因子表第 {s['row_id']} 行"
            f"（{LEVEL_ZH[s['level']]}，{s['effective_from']} 起生效；"
            f"按账单截止日 {s['on']} 查表）。")


def render(t: dict) -> tuple[str, str]:
    """(en, zh) of an allocation line's whole trace."""
    en, zh = tenancy_text(t) if t.get("tenancy_id") else tower_text(t)
    source = t.get("tax_factor_source")
    if source:
        s_en, s_zh = tax_source_text(source)
        en, zh = f"{en} {s_en}", f"{zh}{s_zh}"
    return en, zh


# ---- stored and whole --------------------------------------------------------------------

def split(trace: dict) -> tuple[dict, dict]:
    """(site part, line part) of a whole allocation trace: what is stored once per bill and
    site, and per line — without the line's figures, what is derived, and what the site
    part already says (the tenancy's operator and active days are its row of
    ``tenancies``; a day-run's dates and method are the site's ``runs``)."""
    site = {k: trace[k] for k in SITE_KEYS if k in trace}
    line = {k: v for k, v in trace.items()
            if k not in SITE_KEYS and k not in FIGURES and k not in DERIVED}
    tid = line.pop("tenancy_id", None)
    if tid is not None:
        row = _tenancy_row(site, tid)
        if row is not None and [line.get("operator"), line.get("active_days"),
                                line.get("active")] == [row[1], row[2], list(row[3:5])]:
            for k in ("operator", "active_days", "active"):
                line.pop(k)
            line["t"] = tid
        else:
            line["tenancy_id"] = tid            # kept whole: nothing to point at
        if "daily_shares" in line:
            line["daily_shares"] = [_run_ref(site, r) for r in line["daily_shares"]]
    return site, {"v": VERSION, **line}


def expand(site: dict, line: dict, figures: dict) -> dict:
    """The whole trace again: the site part, the line part, the line's ``figures`` (as
    text: share, cost_share, tax_factor, tax_amount, receivable), the rounding and the
    sentences. ``expand(*split(t), figures of t) == t`` for every allocation trace."""
    t = dict(site)
    t.update((k, v) for k, v in line.items() if k not in ("v", "t"))
    if "t" in line:
        row = _tenancy_row(site, line["t"])
        t.update(tenancy_id=line["t"], operator=row[1], active_days=row[2],
                 active=list(row[3:5]))
    if "daily_shares" in t:
        runs = site.get("runs", [])
        t["daily_shares"] = [_run_of(runs, r) for r in t["daily_shares"]]
    t.update(figures)
    if "lines" in site:
        lump = t.get("mode") == SettlementMode.LUMP_SUM
        exact = Fraction(0) if lump else Fraction(t["exact_share"])
        t["rounding"] = rounding_note(Fraction(t["amount"]), exact, t["cost_share"],
                                      site["lines"])
    t["text_en"], t["text_zh"] = render(t)
    return t


RUN_KEYS = ("from", "to", "days", "method")


def _tenancy_row(site: dict, tid: str):
    return next((row for row in site.get("tenancies", ()) if row[0] == tid), None)


def _run_ref(site: dict, r: dict):
    """A tenancy's day-run as [index of the site's run, its share of each day] when the
    site's run says the rest; the run itself otherwise."""
    if set(r) == {*RUN_KEYS, "share_of_day"}:
        for i, run in enumerate(site.get("runs", ())):
            if all(run.get(k) == r[k] for k in RUN_KEYS):
                return [i, r["share_of_day"]]
    return r


def _run_of(runs: list, ref) -> dict:
    if isinstance(ref, list):
        i, share = ref
        return {**{k: runs[i][k] for k in RUN_KEYS}, "share_of_day": share}
    return ref
