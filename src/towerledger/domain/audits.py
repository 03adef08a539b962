"""Bill audits (稽核): the rules of DOMAIN.md §5 as a pipeline of pure functions.

``audit_bill`` takes plain facts — the bill, its account, the account's bills seen before
it, and what the fed sites should have used — and returns one ``Finding`` per rule that
fires, each with the figures that made it fire. Severity, thresholds and on/off come from
configuration (``configure``), per province; the rules themselves are in ``audit_rules``.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from towerledger.domain.errors import DomainError

BLOCK, WARN = "BLOCK", "WARN"


@dataclass(frozen=True)
class BillFacts:
    """One bill, plain values (缴费单)."""

    key: object
    bill_no: str
    period_start: date
    period_end: date
    amount: Decimal
    kwh: Decimal | None = None
    unit_price: Decimal | None = None
    start_reading: Decimal | None = None
    end_reading: Decimal | None = None
    multiplier: Decimal | None = None
    loss_kwh: Decimal | None = None
    invoice_type: str = ""
    meter_changed: bool = False
    # 换表: the old meter's last reading and the new meter's first (both None: no change
    # declared with readings; the consumption is then end − start as usual)
    old_meter_end_reading: Decimal | None = None
    new_meter_start_reading: Decimal | None = None

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1

    @property
    def kwh_per_day(self) -> Decimal | None:
        return None if self.kwh is None else self.kwh / self.days


@dataclass(frozen=True)
class AccountFacts:
    """The supply account the bill is paid against (电表户号)."""

    account_no: str
    supply_mode: str
    payment_cycle_months: int = 1
    contract_price: Decimal | None = None
    price_cap: Decimal | None = None
    multiplier: Decimal = Decimal(1)
    lump_sum: bool = False
    whitelisted: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LoadFacts:
    """What the fed sites should have used over the bill's period (标杆的依据)."""

    rated_power_wd: Decimal | None = None
    dc_current_ad: Decimal | None = None
    smart_kwh: Decimal | None = None
    smart_days: int = 0
    no_tenant_days: int = 0
    new_tenancy_in_period: bool = False


def made(cls, values: Mapping):
    """``cls(**values)`` for a frozen fact class, ``values`` naming every one of its fields:
    made without the frozen ``__init__``'s one ``object.__setattr__`` per field (a bill
    import builds hundreds of thousands: every history bill of every account audited). The
    result is equal to, and hashes as, ``cls(**values)``."""
    assert values.keys() == cls.__dataclass_fields__.keys(), set(values) ^ set(
        cls.__dataclass_fields__)
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


BILL_FACT_FIELDS = tuple(BillFacts.__dataclass_fields__)


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message_zh: str
    message_en: str
    figures: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RuleConfig:
    code: str
    severity: str
    enabled: bool = True
    thresholds: Mapping[str, Decimal] = field(default_factory=dict)


def _d(x) -> Decimal:
    return Decimal(str(x))


# code: (中文名, English name, default severity, default thresholds)
_RULES = {
    "DUP_BILL_NO": ("重复缴费单号", "Duplicate bill number", BLOCK, {}),
    "DUP_CONTENT": ("重复缴费内容", "Duplicate bill content", BLOCK, {}),
    "OVERLAP": ("计费周期重叠", "Overlapping period", BLOCK, {}),
    "GAP": ("计费周期断档", "Gap between bills", WARN, {"max_gap_days": _d(1)}),
    "PERIOD_LENGTH": ("计费周期异常", "Period length vs payment cycle", WARN,
                      {"min_ratio": _d("0.5"), "max_ratio": _d("1.5")}),
    "READING_MISMATCH": ("读数与电量不符", "Readings do not match kWh", BLOCK,
                         {"tolerance_kwh": _d(1)}),
    "METER_ROLLBACK": ("电表读数倒走", "Meter rollback", BLOCK, {}),
    "AMOUNT_MISMATCH": ("金额与电量单价不符", "Amount vs kWh × price", WARN,
                        {"tolerance_yuan": _d(1), "tolerance_pct": _d("0.5")}),
    "PRICE_CONTRACT": ("单价高于合同价", "Price above contract", WARN, {"over_pct": _d(1)}),
    "PRICE_CAP": ("单价超过上限", "Price above cap", BLOCK, {}),
    "BENCH_RATED": ("超额定功率标杆", "Above rated-power benchmark", WARN,
                    {"over_pct": _d(20), "hours": _d(24)}),
    "BENCH_DC": ("超直流负载标杆", "Above DC-load benchmark", WARN,
                 {"over_pct": _d(20), "voltage": _d("53.5"), "pue": _d("1.6"),
                  "hours": _d(24)}),
    "BENCH_SMART": ("与智能电表不符", "Differs from smart meter", WARN,
                    {"tolerance_pct": _d(5)}),
    "YOY": ("同比异常", "Year on year", WARN, {"over_pct": _d(30)}),
    "MOM": ("环比异常", "Against the previous bill", WARN, {"change_pct": _d(50)}),
    "ESTIMATED": ("疑似估抄", "Estimated bill", WARN,
                  {"bills_running": _d(3), "tolerance_pct": _d("0.1")}),
    "NO_TENANT": ("无租户期间", "Days without a tenant", WARN, {}),
    "INVOICE": ("转供电无发票", "Resupply without invoice", WARN, {}),
    # meters: bill kWh vs smart meter / DC load / 3-month baseline (the analytics job)
    "THEFT_SUSPECT": ("偷电嫌疑", "Suspected theft", WARN,
                      {"over_pct": _d(30), "voltage": _d("53.5"), "pue": _d("1.6"),
                       "hours": _d(24)}),
    "TRADING_DISCOUNT": ("市场化交易优惠未体现", "Trading discount missing", WARN, {}),
    "SITE_ARCHIVED": ("站址已归档", "Site archived", BLOCK, {}),   # programs.decommission
}

# Findings of the allocation (分摊, DOMAIN.md §3), stored on the bill like the audits'. They
# have no check here (allocation finds them); their severity is the province's policy:
# WARN allocates and pushes, BLOCK holds the bill's lines until the finding is resolved.
ALLOCATION_RULES = {
    "FALLBACK": ("分摊方式回退", "Allocation fell back to another method", WARN, {}),
    "NEGATIVE_COMMON": ("公共用电为负", "Negative common load", WARN, {}),
    "NO_RULE": ("站址无分摊规则", "No allocation rule", WARN, {}),
    "ZERO_WEIGHT": ("分摊权重全为零", "All allocation weights zero", WARN, {}),
    "NO_SITE": ("户号未关联站址", "Account feeds no site", WARN, {}),
    "SPLIT": ("站址分摊比例合计不为100%", "Site splits do not sum to 100%", WARN, {}),
    "DUPLICATE_RULE": ("同日多条分摊规则", "Several rules on one date", WARN, {}),
    "RATIO_SUM": ("约定比例合计不为100%", "Agreed ratios do not sum to 100%", WARN, {}),
}
_RULES.update(ALLOCATION_RULES)

RULE_LABELS: Mapping[str, tuple[str, str]] = {c: (zh, en) for c, (zh, en, _, _) in
                                              _RULES.items()}
# a rule's thresholds in words with their unit, for the audit settings page
THRESHOLD_LABELS: Mapping[str, tuple[str, str]] = {
    "max_gap_days": ("允许断档（天）", "gap allowed (days)"),
    "min_ratio": ("周期下限（倍）", "shortest period (× cycle)"),
    "max_ratio": ("周期上限（倍）", "longest period (× cycle)"),
    "tolerance_kwh": ("容差（kWh）", "tolerance (kWh)"),
    "tolerance_yuan": ("容差（元）", "tolerance (yuan)"),
    "tolerance_pct": ("容差（%）", "tolerance (%)"),
    "over_pct": ("超出（%）", "above by (%)"),
    "change_pct": ("变化（%）", "change (%)"),
    "hours": ("每日小时数", "hours a day"),
    "voltage": ("直流电压（V）", "DC voltage (V)"),
    "pue": ("能效系数 PUE", "PUE factor"),
    "bills_running": ("连续期数", "bills in a row"),
}
DEFAULT_RULES: Mapping[str, RuleConfig] = {
    c: RuleConfig(c, sev, True, dict(th)) for c, (_, _, sev, th) in _RULES.items()}

# Rules that need kWh: not applied to lump-sum (包干) accounts.
KWH_RULES = frozenset({"READING_MISMATCH", "METER_ROLLBACK", "AMOUNT_MISMATCH",
                       "PRICE_CONTRACT", "PRICE_CAP", "BENCH_RATED", "BENCH_DC",
                       "BENCH_SMART", "YOY", "MOM", "ESTIMATED"})


class ConfigError(DomainError, ValueError):
    """Rule settings that cannot be applied (code invalid); still a ValueError for callers
    that catch that."""


def configure(overrides: Iterable[tuple]) -> dict[str, RuleConfig]:
    """Merge ``(code, enabled, severity, thresholds)`` overrides over the defaults, in order;
    None leaves a value as it is. Unknown codes, severities or threshold names are errors."""
    rules = dict(DEFAULT_RULES)
    for code, enabled, severity, thresholds in overrides:
        if code not in rules:
            raise ConfigError(f"未知稽核规则 {code}", f"unknown audit rule {code}")
        if severity not in (None, BLOCK, WARN):
            raise ConfigError(f"严重程度应为 BLOCK 或 WARN：{severity}",
                              f"severity must be BLOCK or WARN: {severity}")
        rule = rules[code]
        unknown = set(thresholds or {}) - set(rule.thresholds)
        if unknown:
            raise ConfigError(f"规则 {code} 没有阈值 {sorted(unknown)}",
                              f"rule {code} has no threshold {sorted(unknown)}")
        rules[code] = replace(
            rule, enabled=rule.enabled if enabled is None else bool(enabled),
            severity=severity or rule.severity,
            thresholds={**rule.thresholds, **{k: _d(v) for k, v in (thresholds or {}).items()}})
    return rules


def audit_bill(bill: BillFacts, account: AccountFacts, history: Sequence[BillFacts],
               load: LoadFacts, rules: Mapping[str, RuleConfig] = DEFAULT_RULES
               ) -> list[Finding]:
    """Every finding on ``bill``; ``history`` is the account's other bills seen before it."""
    from towerledger.domain.audit_rules import RULES

    context = Context(bill, account, tuple(history), load)
    findings = []
    for code, check in RULES.items():
        rule = rules.get(code)
        if rule is None or not rule.enabled or code in account.whitelisted:
            continue
        if account.lump_sum and code in KWH_RULES:
            continue
        found = check(context, rule.thresholds)
        if found is not None:
            zh, en, figures = found
            findings.append(Finding(code, rule.severity, zh, en, figures))
    return findings


@dataclass(frozen=True)
class Context:
    """Everything a rule looks at, with the derived facts several rules share."""

    bill: BillFacts
    account: AccountFacts
    history: tuple[BillFacts, ...]
    load: LoadFacts

    def previous(self, n: int = 1) -> list[BillFacts]:
        """The ``n`` latest history bills that ended before this one starts, newest first."""
        before = [h for h in self.history if h.period_end < self.bill.period_start]
        return sorted(before, key=lambda h: (h.period_end, h.period_start), reverse=True)[:n]


# ---- a finding's figures in words (稽核发现的数据说明) --------------------------------------
#
# ``Finding.figures`` keeps the numbers that made a rule fire under short keys (benchmark,
# actual, threshold, deviation_pct …); what "benchmark" and "actual" are, and their unit,
# depends on the rule. ``describe_figures`` is the one place that says it, in Chinese and
# English, for the audit queue, the bill page and the line page alike.

KWH, YUAN, PRICE, DAYS, PER_DAY = ("kWh", "kWh"), ("元", "yuan"), ("元/kWh", "yuan/kWh"), \
    ("天", "days"), ("kWh/天", "kWh/day")

# rule: ((benchmark in words), (actual in words), unit)
_COMPARED = {
    "PERIOD_LENGTH": (("按缴费周期应约", "expected about"), ("实际计费", "actual period"), DAYS),
    "READING_MISMATCH": (("读数算得电量", "kWh from the readings"),
                         ("账单电量", "kWh billed"), KWH),
    "AMOUNT_MISMATCH": (("电量×单价", "kWh × unit price"), ("账单金额", "bill amount"), YUAN),
    "PRICE_CONTRACT": (("合同单价", "contract price"), ("账单单价", "unit price"), PRICE),
    "PRICE_CAP": (("单价上限", "price cap"), ("账单单价", "unit price"), PRICE),
    "BENCH_RATED": (("额定功率标杆电量", "rated-power benchmark"), ("账单电量", "kWh billed"),
                    KWH),
    "BENCH_DC": (("直流负载标杆电量", "DC-load benchmark"), ("账单电量", "kWh billed"), KWH),
    "BENCH_SMART": (("智能电表电量", "smart meter"), ("账单电量", "kWh billed"), KWH),
    "THEFT_SUSPECT": (("智能电表电量", "smart meter"), ("账单电量", "kWh billed"), KWH),
    "YOY": (("去年同期日均", "same period last year"), ("本期日均", "this bill"), PER_DAY),
    "MOM": (("上期日均", "previous bill"), ("本期日均", "this bill"), PER_DAY),
}
# keys whose meaning is the same under every rule: (words, unit or None)
_PLAIN = {
    "other_bill_no": (("另一缴费单", "other bill"), None),
    "other_amount": (("其金额", "its amount"), YUAN),
    "overlap_days": (("重叠", "overlap"), DAYS),
    "gap_days": (("断档", "uncovered"), DAYS),
    "start_reading": (("起度", "start reading"), None),
    "end_reading": (("止度", "end reading"), None),
    "no_tenant_days": (("无租户天数", "days without a tenant"), DAYS),
    "period_days": (("计费天数", "days billed"), DAYS),
    "invoice_type": (("票据", "invoice"), None),
    "bills": (("相同的前几期", "same as bills"), None),
    "dc_benchmark": (("直流负载标杆电量", "DC-load benchmark"), KWH),
    "baseline_per_day": (("前3个月日均", "3-month baseline"), PER_DAY),
    "actual_per_day": (("本期日均", "this bill"), PER_DAY),
    "score": (("嫌疑评分", "suspicion score"), None),
}


def _number(value) -> str:
    """1234.5 → 1,234.5 (as many decimals as the figure was stored with); text as it is."""
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if not d.is_finite():
        return str(value)
    places = max(0, -d.as_tuple().exponent)
    return f"{d:,.{places}f}"


def _with_unit(value, unit: tuple[str, str] | None) -> tuple[str, str]:
    text = _number(value)
    return (text, text) if unit is None else (f"{text} {unit[0]}", f"{text} {unit[1]}")


def _phrase(words: tuple[str, str], value: tuple[str, str]) -> tuple[str, str]:
    return f"{words[0]} {value[0]}", f"{words[1]} {value[1]}"


def describe_figures(code: str, figures: Mapping) -> list[tuple[str, str]]:
    """A finding's figures as phrases ``(中文, English)`` with units, in a stable order:
    what was expected, what the bill says, by how much, against which threshold, then the
    rest. Keys no rule here knows (another part's findings) read ``key: value``."""
    figures = dict(figures or {})
    out = []
    compared = _COMPARED.get(code)
    actual_words, unit = (("实际", "actual"), None) if compared is None else compared[1:]
    if "actual" in figures and code in ("DUP_BILL_NO", "DUP_CONTENT"):
        actual_words, unit = ("本单金额", "this bill's amount"), YUAN
    if "benchmark" in figures:
        words = compared[0] if compared else ("标杆", "benchmark")
        out.append(_phrase(words, _with_unit(figures.pop("benchmark"), unit)))
    if "actual" in figures:
        out.append(_phrase(actual_words, _with_unit(figures.pop("actual"), unit)))
    if "deviation_pct" in figures:
        dev = _number(figures.pop("deviation_pct"))
        dev = dev if dev.startswith("-") else f"+{dev}"
        out.append((f"偏差 {dev}%", f"deviation {dev}%"))
    if "threshold" in figures:
        limit = str(figures.pop("threshold"))
        if _is_number(limit):   # a bare number: in the rule's unit (GAP counts days)
            zh, en = _with_unit(limit, DAYS if code == "GAP" else unit)
        else:                   # already says its unit: "+20%", "±1 kWh", "1 元 & 0.5%"
            zh, en = limit.replace("&", "且"), limit.replace("元", "yuan").replace("&", "and")
        out.append((f"阈值 {zh}", f"threshold {en}"))
    if "new_tenancy" in figures:
        new = figures.pop("new_tenancy") in (True, "True", "true", 1)
        out.append(("期间有新增租户", "a tenancy started in the period") if new else
                   ("期间无新增租户", "no new tenancy in the period"))
    if "sites" in figures:   # an allocation finding: the sites and what happened on each
        sites = figures.pop("sites") or []
        names = ", ".join(str(s.get("site", s)) if isinstance(s, Mapping) else str(s)
                          for s in sites)
        out.append((f"站址 {names}", f"sites {names}"))
    if figures.pop("source", None) == "allocation":
        out.append(("分摊时发现", "found by the allocation"))
    for key, value in figures.items():
        words, unit = _PLAIN.get(key, ((key, key), None))
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        if key == "invoice_type" and value in ("NONE", "RECEIPT"):
            value = {"NONE": "无票 / none", "RECEIPT": "收据 / receipt"}[value]
            zh, en = value.split(" / ")
            out.append((f"{words[0]} {zh}", f"{words[1]} {en}"))
            continue
        out.append(_phrase(words, _with_unit(value, unit) if not isinstance(value, str)
                           or _is_number(value) else (value, value)))
    return out


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False
