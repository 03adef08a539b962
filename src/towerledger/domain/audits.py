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
