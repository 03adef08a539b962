"""转改直 services: the only code that changes the program's state. Each is one transaction,
checks the user's scope, and records who, when and why in the audit log.

On done (``advance(..., "complete")``) the account becomes direct supply from the done date
(DOMAIN.md §7; the landlord's last bill ends the day before): a dated row of its supply
terms (``sites.terms.change_terms``) — supply mode DIRECT, supplier GRID, the project's
invoice type after (default SPECIAL_13) and its direct price — with the terms before kept as
the account's original row, on the project and in the audit record. Nothing is overwritten:
a late bill of a period before the conversion is still judged as resupply (tax factor,
price audits, KPI bands), a bill after it as direct. A failed project changes no terms."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from towerledger.access import audit
from towerledger.access.scope import can_admin, can_change, writable
from towerledger.bills.models import Bill
from towerledger.domain import conversion as rules
from towerledger.domain.codes import InvoiceType, SupplierType, SupplyMode
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.money import fen
from towerledger.programs.conversion import report
from towerledger.programs.conversion.models import (
    Attachment,
    CostDefault,
    DirectPrice,
    Estimate,
    Project,
    Step,
)
from towerledger.programs.conversion.report import account_places, direct_price_of
from towerledger.sites import terms
from towerledger.sites.models import SupplyAccount

OBJECT = "conversion_project"
STEP_ACTIONS = {"approve": "conversion.approve", "build": "conversion.build",
                "complete": "conversion.complete", "fail": "conversion.fail"}


def _need_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise DomainError("请填写原因", "a reason is required")
    return reason.strip()


def _may_write_account(user, account: SupplyAccount):
    if not can_change(user) and user is not None:
        raise DomainError("只有省管理员和地市电费专员可以办理转改直",
                          "only province admins and city clerks manage conversions",
                          ErrorCode.FORBIDDEN)
    if user is not None and not writable(user, SupplyAccount.objects.filter(
            pk=account.pk)).exists():
        raise DomainError("户号不在您的范围内", "the account is outside your scope",
                          ErrorCode.FORBIDDEN)


def account_usage(account: SupplyAccount, on: date) -> tuple[Decimal, Decimal | None]:
    """(yearly kWh over the 12 months up to ``on``, the last bill's unit price)."""
    bills = Bill.objects.filter(account=account).exclude(status=Bill.Status.VOID)
    u = bills.filter(period_end__gt=on - timedelta(days=365), period_end__lte=on,
                     kwh__isnull=False).aggregate(kwh=Sum("kwh"), first=Min("period_start"),
                                                  last=Max("period_end"))
    last = bills.filter(unit_price__isnull=False).order_by("-period_start", "-pk") \
        .values_list("unit_price", flat=True).first()
    return rules.yearly_kwh(u["kwh"], u["first"], u["last"]), last


def as_dict(p: Project) -> dict:
    return {"code": p.code, "account_no": p.account.account_no, "status": p.status,
            "estimated_cost": p.estimated_cost, "actual_cost": p.actual_cost,
            "price_before": p.price_before, "direct_price": p.direct_price,
            "new_invoice_type": p.new_invoice_type, "yearly_kwh": p.yearly_kwh,
            "projected_monthly": p.projected_monthly, "submitted_on": p.submitted_on,
            "approved_on": p.approved_on, "built_on": p.built_on, "done_on": p.done_on,
            "failed_on": p.failed_on}


def submit(user, account: SupplyAccount, *, reason: str, submitted_on: date | None = None,
           code: str = "", estimated_cost: Decimal | None = None,
           direct_price: Decimal | None = None, price_before: Decimal | None = None,
           new_invoice_type: str = InvoiceType.SPECIAL_13, note: str = "") -> Project:
    """Submit a project for a resupply account: the projection (yearly kWh, price before,
    direct price, cost, monthly savings) is taken now and kept on the project."""
    reason = _need_reason(reason)
    _may_write_account(user, account)
    on = submitted_on or timezone.localdate()
    if account.supply_mode != SupplyMode.RESUPPLY:
        raise DomainError(f"户号 {account.account_no} 不是转供电", f"account "
                          f"{account.account_no} is not resupplied", ErrorCode.CONFLICT)
    if new_invoice_type not in InvoiceType.__members__:
        raise DomainError("票据类型无效", "unknown invoice type")
    place = account_places([account.pk]).get(account.pk, {})
    yearly, last_price = account_usage(account, on)
    before = price_before if price_before is not None else (last_price or account.contract_price)
    if before is None:
        raise DomainError("无缴费单，也无合同单价：请填写改造前单价",
                          "no bill and no contract price: give the price before")
    direct = direct_price if direct_price is not None else \
        direct_price_of(place.get("province_id"), on)
    if estimated_cost is None:
        est = Estimate.objects.filter(account=account).values_list("cost", flat=True).first()
        estimated_cost = est if est is not None else \
            CostDefault.objects.filter(site_type=place.get("site_type")) \
            .values_list("cost", flat=True).first() or \
            rules.DEFAULT_COST.get(place.get("site_type"), rules.FALLBACK_COST)
    if estimated_cost < 0 or direct <= 0:
        raise DomainError("费用不能为负，直供电价须大于 0",
                          "the cost may not be negative and the direct price must be above 0")
    with transaction.atomic():
        if Project.objects.select_for_update().filter(account=account).exclude(
                status=rules.FAILED).exists():
            raise DomainError(f"户号 {account.account_no} 已有转改直项目",
                              f"account {account.account_no} already has a conversion project",
                              ErrorCode.CONFLICT)
        if not code:
            n = Project.objects.filter(account=account).count() + 1
            code = f"ZGZ-{account.account_no}-{n}"
        if Project.objects.filter(code=code).exists():
            raise DomainError(f"项目编号 {code} 已存在", f"project {code} exists",
                              ErrorCode.CONFLICT)
        p = Project.objects.create(
            code=code, account=account, estimated_cost=fen(estimated_cost),
            price_before=before, direct_price=direct, new_invoice_type=new_invoice_type,
            yearly_kwh=yearly,
            projected_monthly=rules.projected_monthly_savings(yearly, before, direct),
            submitted_on=on, note=note)
        Step.objects.create(project=p, step="submit", from_state="", to_state=rules.SUBMITTED,
                            on=on, by=_person(user), reason=reason)
        audit.record(user, "conversion.submit", OBJECT, p.code, after=as_dict(p), reason=reason)
        report.refresh_ranked([account.pk])       # its cost is the project's now
    return p


def _person(user):
    return user if getattr(user, "pk", None) else None


def advance(user, project: Project, step: str, *, reason: str, on: date | None = None,
            actual_cost: Decimal | None = None, today: date | None = None) -> Project:
    """approve / build / complete / fail, with who, when and why. ``complete`` turns the
    account to direct supply from ``on`` (the done date)."""
    reason = _need_reason(reason)
    _may_write_account(user, project.account)
    today = today or timezone.localdate()
    on = on or today
    if on > today:
        raise DomainError("日期不能晚于今天", "the date cannot be after today")
    with transaction.atomic():
        p = Project.objects.select_for_update().select_related("account").get(pk=project.pk)
        old = p.status
        new = rules.next_state(old, step)
        last_step = p.steps.order_by("-on").values_list("on", flat=True).first()
        if last_step and on < last_step:
            raise DomainError(f"日期不能早于上一步（{last_step}）",
                              f"the date cannot be before the previous step ({last_step})")
        before = as_dict(p)
        if actual_cost is not None:
            if actual_cost < 0:
                raise DomainError("费用不能为负", "the cost may not be negative")
            p.actual_cost = fen(actual_cost)
        p.status = new
        setattr(p, {rules.APPROVED: "approved_on", rules.BUILT: "built_on",
                    rules.DONE: "done_on", rules.FAILED: "failed_on"}[new], on)
        if new == rules.DONE:
            _convert_account(user, p, on, reason)
        p.save()
        Step.objects.create(project=p, step=step, from_state=old, to_state=new, on=on,
                            by=_person(user), reason=reason)
        audit.record(user, STEP_ACTIONS[step], OBJECT, p.code, before=before,
                     after=as_dict(p), reason=reason)
        if new in (rules.DONE, rules.FAILED):
            report.refresh_ranked([p.account_id])  # direct now, or back to its estimate
    return p


def _convert_account(user, p: Project, done_on: date, reason: str) -> None:
    """The account's supply terms become direct from ``done_on`` (a dated row;
    the terms before kept on the project and as the account's original row)."""
    a = SupplyAccount.objects.select_for_update().get(pk=p.account_id)
    since = rules.direct_from(done_on)
    before = terms.load([a.pk]).on(a.pk, since - timedelta(days=1))
    p.before = {f: str(getattr(before, f)) if getattr(before, f) is not None else None
                for f in terms.FIELDS}
    terms.change_terms(user, a, since, terms.Terms(SupplyMode.DIRECT, SupplierType.GRID,
                                                    p.new_invoice_type, p.direct_price),
                       reason=reason, source=f"转改直 {p.code}", action="conversion.account",
                       extra={"direct_from": since, "project": p.code},
                       today=max(since, timezone.localdate()))


def attach(user, project: Project, upload, name: str) -> Attachment:
    """Store a file already screened by the caller (web.uploads.check_attachment)."""
    _may_write_account(user, project.account)
    with transaction.atomic():
        att = Attachment(project=project, name=name[:200], uploaded_by=_person(user))
        att.file.save(name, upload, save=False)
        att.save()
        audit.record(user, "conversion.attach", OBJECT, project.code, after={"file": name})
    return att


def set_estimate(user, account: SupplyAccount, cost: Decimal, *, reason: str) -> Estimate:
    reason = _need_reason(reason)
    _may_write_account(user, account)
    if cost < 0:
        raise DomainError("费用不能为负", "the cost may not be negative")
    with transaction.atomic():
        old = Estimate.objects.filter(account=account).values_list("cost", flat=True).first()
        est, _ = Estimate.objects.update_or_create(
            account=account, defaults={"cost": fen(cost), "by": _person(user),
                                       "at": timezone.now()})
        audit.record(user, "conversion.estimate", "account", account.account_no,
                     before={"cost": old}, after={"cost": est.cost}, reason=reason)
        report.refresh_ranked([account.pk])
    return est


def _admin_only(user):
    if user is not None and not can_admin(user):
        raise DomainError("只有省管理员可以维护转改直参数",
                          "only a province admin may change the conversion settings",
                          ErrorCode.FORBIDDEN)


def set_direct_price(user, province, effective_from: date, price: Decimal, *,
                     reason: str, note: str = "") -> DirectPrice:
    """A dated row of the province's direct catalogue price (a new date, a new row)."""
    reason = _need_reason(reason)
    _admin_only(user)
    if price <= 0:
        raise DomainError("电价须大于 0", "the price must be above 0")
    with transaction.atomic():
        row, created = DirectPrice.objects.update_or_create(
            province=province, effective_from=effective_from,
            defaults={"price": price, "note": note})
        audit.record(user, "conversion.direct_price", "conversion_setting",
                     f"{province.name}@{effective_from}", after={"price": price},
                     reason=reason)
    return row


def set_cost_default(user, site_type: str, cost: Decimal, *, reason: str) -> CostDefault:
    reason = _need_reason(reason)
    _admin_only(user)
    if cost < 0:
        raise DomainError("费用不能为负", "the cost may not be negative")
    with transaction.atomic():
        row, _ = CostDefault.objects.update_or_create(site_type=site_type,
                                                      defaults={"cost": fen(cost)})
        audit.record(user, "conversion.cost_default", "conversion_setting", site_type,
                     after={"cost": row.cost}, reason=reason)
    return row
