"""Audit rule settings per province (稽核规则设置, DOMAIN.md §5; issue 12): each rule's
severity, on/off and thresholds, and the allocation findings' policy (WARN allocates and
pushes, BLOCK holds the lines), edited by the province admin, every change in the audit log
with who, when, before, after and why. A change applies to bills audited from then on; the
open (unpaid) bills of the province can be re-audited in steps (``open_bills``, then
``services.reaudit`` per step)."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction

from towerledger.access import audit as log
from towerledger.access.models import Role
from towerledger.access.scope import role_of
from towerledger.bills.audit import configured_rules
from towerledger.bills.models import AuditRuleSetting, Bill
from towerledger.domain import audits
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.org.models import Province


class SettingError(DomainError):
    """A rule setting refused (Chinese and English)."""


@dataclass(frozen=True)
class RuleRow:
    code: str
    label_zh: str
    label_en: str
    severity: str
    enabled: bool
    thresholds: dict          # name → value in force
    defaults: dict            # name → the default value
    default_severity: str
    allocation: bool          # an allocation finding (policy: WARN or BLOCK the push)
    overridden: bool          # the province has its own setting


def rules_of(province_id) -> list[RuleRow]:
    """Every rule in force for the province, audit rules first, then allocation findings."""
    rules = configured_rules(province_id)
    own = set(AuditRuleSetting.objects.filter(province_id=province_id)
              .values_list("code", flat=True))
    out = []
    for code, rule in rules.items():
        zh, en = audits.RULE_LABELS[code]
        default = audits.DEFAULT_RULES[code]
        out.append(RuleRow(code, zh, en, rule.severity, rule.enabled, dict(rule.thresholds),
                           dict(default.thresholds), default.severity,
                           code in audits.ALLOCATION_RULES, code in own))
    return sorted(out, key=lambda r: (r.allocation, r.code))


def _require_admin(user):
    if role_of(user) != Role.PROVINCE_ADMIN:
        raise SettingError("只有省公司管理员可以修改稽核规则",
                           "only a province admin may change audit rules", ErrorCode.FORBIDDEN)


def _number(code, name, raw) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > Decimal("1e6"):
        raise SettingError(f"规则 {code} 的阈值 {name} 应为 0 至 1000000 的数字：{raw}",
                           f"rule {code}: threshold {name} must be a number from 0 to "
                           f"1000000: {raw}")
    return value


def save_setting(user, province_id, code: str, severity: str, enabled: bool,
                 thresholds: dict, reason: str) -> AuditRuleSetting:
    """Set one rule for one province; logged with before, after and the reason."""
    _require_admin(user)
    if not (reason or "").strip():
        raise SettingError("请填写修改原因", "a reason is required")
    if not Province.objects.filter(pk=province_id).exists():
        raise SettingError("省份不存在", "no such province", ErrorCode.NOT_FOUND)
    if code not in audits.DEFAULT_RULES:
        raise SettingError(f"未知稽核规则 {code}", f"unknown audit rule {code}",
                           ErrorCode.NOT_FOUND)
    values = {name: _number(code, name, raw) for name, raw in (thresholds or {}).items()}
    try:   # the domain's own validation: severity, threshold names
        audits.configure([(code, enabled, severity, values)])
    except audits.ConfigError as exc:
        raise SettingError(exc.zh, exc.en) from None
    with transaction.atomic():
        before = _snapshot(province_id, code)
        setting, _ = AuditRuleSetting.objects.select_for_update().get_or_create(
            province_id=province_id, code=code)
        setting.severity, setting.enabled = severity, bool(enabled)
        setting.thresholds = {k: str(v) for k, v in values.items()}
        setting.save()
        log.record(user, "audit_rule_setting", "audit_rule", f"{province_id}:{code}", before,
                   _snapshot(province_id, code), reason=reason.strip())
    return setting


def _snapshot(province_id, code) -> dict:
    rule = configured_rules(province_id)[code]
    return {"severity": rule.severity, "enabled": rule.enabled,
            "thresholds": {k: str(v) for k, v in rule.thresholds.items()}}


def open_bills(province_id):
    """The province's open bills (unpaid, not void), to re-audit after a change, by pk."""
    return Bill.objects.filter(status=Bill.Status.UNPAID,
                               account__splits__site__county__city__province_id=province_id) \
        .distinct().order_by("pk")
