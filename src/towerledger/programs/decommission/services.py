"""拆站 services: each step of a site's decommissioning, one transaction each, logged (who,
when, why) on the case and in the audit log. What is still open is the pure checklist of
``domain.decommission`` over ``facts(case)``."""

import csv
import json
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from towerledger.access import audit
from towerledger.access.scope import can_change, scoped, writable
from towerledger.bills.models import Bill
from towerledger.domain import decommission as dom
from towerledger.domain.codes import SiteStatus
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.exchange.services import run_import
from towerledger.programs.decommission import rentlink
from towerledger.programs.decommission.models import CaseAccount, CaseEvent, Decommissioning
from towerledger.settlement.allocate import allocated
from towerledger.sites.models import AccountSite, Site, Tenancy


class DecommissionError(DomainError):
    pass


def _require(user, reason: str):
    if user is not None and not can_change(user):   # None: the system (CLI, demo)
        raise DecommissionError("只有省管理员和地市专员可以办理拆站",
                                "only province admins and city clerks handle decommissioning",
                                ErrorCode.FORBIDDEN)
    if not (reason or "").strip():
        raise DecommissionError("请填写原因", "a reason is required")


def visible_cases(user):
    return Decommissioning.objects.filter(site__in=scoped(user, Site.objects.all()))


def case_for_change(user, pk, lock=True) -> Decommissioning:
    qs = Decommissioning.objects.filter(pk=pk, site__in=writable(user, Site.objects.all()))
    case = (qs.select_for_update() if lock else qs).select_related("site").first()
    if case is None:
        raise DecommissionError(code=ErrorCode.NOT_FOUND)
    return case


def _log(case, step, user, reason, **details):
    details = json.loads(json.dumps(details, cls=DjangoJSONEncoder, default=str))
    CaseEvent.objects.create(case=case, step=step, user=user if getattr(user, "pk", None)
                             else None, reason=reason or "", details=details)
    audit.record(user, f"decommission.{step.lower()}", "site", case.site.site_code,
                 after={"case": case.pk, **details}, reason=reason)


def _open(case):
    if case.status != Decommissioning.Status.OPEN:
        raise DecommissionError("拆站单已结束（已归档或已重新启用）",
                                "the case is no longer open (archived or reopened)",
                                ErrorCode.CONFLICT)


# ---- the request ------------------------------------------------------------------------

def request(user, site_code: str, planned_date: date, reason: str) -> Decommissioning:
    """拆站申请: who, why, and the decommission date (the last day the site is served)."""
    _require(user, reason)
    with transaction.atomic():
        site = writable(user, Site.objects.filter(site_code=site_code)).first()
        if site is None:
            raise DecommissionError(f"站址 {site_code} 不存在", f"no such site {site_code}",
                                    ErrorCode.NOT_FOUND)
        live = site.decommissionings.exclude(status=Decommissioning.Status.REOPENED).first()
        if live is not None:
            raise DecommissionError(f"站址 {site_code} 已有拆站单", f"site {site_code} already "
                                    "has a decommissioning", ErrorCode.CONFLICT)
        case = Decommissioning.objects.create(site=site, planned_date=planned_date,
                                              reason=reason.strip(), requested_by=user)
        CaseAccount.objects.bulk_create([CaseAccount(case=case, account_id=a) for a in set(
            AccountSite.objects.filter(site=site).values_list("account_id", flat=True))])
        _log(case, dom.REQUEST, user, reason, planned_date=planned_date)
    return case


# ---- the facts and the checklist ------------------------------------------------------------

def facts(case: Decommissioning) -> dom.CaseFacts:
    site = case.site
    tenancies = tuple(dom.TenancyFact(t, op, s, e) for t, op, s, e in Tenancy.objects.filter(
        site=site).order_by("tenancy_id").values_list("tenancy_id", "operator__code",
                                                      "start_date", "end_date"))
    _sync_accounts(case)
    accounts = []
    for ca in case.accounts.select_related("account").order_by("account__account_no"):
        bills = Bill.objects.filter(account=ca.account).exclude(status=Bill.Status.VOID)
        unpaid = tuple(bills.filter(status=Bill.Status.UNPAID).filter(
            period_start__lte=case.planned_date).order_by("period_start")
            .values_list("bill_no", flat=True))
        paid = bills.filter(status=Bill.Status.PAID)
        unallocated = tuple(paid.filter(~allocated()).order_by("period_start")
                            .values_list("bill_no", flat=True))
        covered = paid.filter(allocated()).aggregate(m=Max("period_end"))["m"]
        feeds = set(AccountSite.objects.filter(account=ca.account)
                    .values_list("site_id", flat=True))
        accounts.append(dom.AccountFact(
            ca.account.account_no, ca.final_reading, ca.closed_on, covered, unpaid,
            unallocated, ca.account.lump_sum, shared=bool(feeds - {site.pk}),
            detached=site.pk not in feeds))
    due = rentlink.rent_due(site.pk)
    return dom.CaseFacts(
        site.site_code, case.planned_date,
        requested_by=case.requested_by.username if case.requested_by_id else "",
        reason=case.reason, tenancies=tenancies, accounts=tuple(accounts),
        rent_due=tuple(due),
        # contracts the rent program's own items do not already name
        rent_open=tuple(c for c in rentlink.open_contracts(site.pk, case.planned_date)
                        if not any(f"contract {c} " in en for _, en in due)),
        archived=case.status == Decommissioning.Status.ARCHIVED)


def _sync_accounts(case):
    """Accounts added to the site after the request join the case."""
    if case.status != Decommissioning.Status.OPEN:
        return
    have = set(case.accounts.values_list("account_id", flat=True))
    new = set(AccountSite.objects.filter(site=case.site).values_list("account_id", flat=True))
    CaseAccount.objects.bulk_create([CaseAccount(case=case, account_id=a) for a in new - have],
                                    ignore_conflicts=True)


def checklist(case) -> list[dom.Step]:
    return dom.checklist(facts(case))


# ---- the steps --------------------------------------------------------------------------

TENANCY_FIELDS = ("tenancy_id", "site_code", "operator", "start_date", "end_date",
                  "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a")


def end_tenancies(user, pk, reason: str) -> int:
    """End the operators' tenancies on the decommission date through the tenancies import
    (the dated master-data path: allocation stops the next day, the import is logged and
    scoped like any other). Tenancies already ending by then are left as they are."""
    _require(user, reason)
    case = case_for_change(user, pk, lock=False)
    _open(case)
    rows = [[t, code, op, start, case.planned_date, mode, lump or "", rated or "", dc or ""]
            for t, code, op, start, mode, lump, rated, dc in Tenancy.objects.filter(
                site=case.site, start_date__lte=case.planned_date).exclude(
                end_date__lte=case.planned_date).order_by("tenancy_id").values_list(
                "tenancy_id", "site__site_code", "operator__code", "start_date",
                "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a")]
    if not rows:
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"服务终止-{case.site.site_code}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(TENANCY_FIELDS)
            w.writerows(rows)
        result = run_import("tenancies", path, user, reason=f"拆站 {reason}")
    if not result.stored:
        raise DecommissionError("；".join(e.zh for e in result.errors),
                                "; ".join(e.en for e in result.errors))
    with transaction.atomic():
        _log(case, dom.TENANCIES, user, reason, ended=[r[0] for r in rows],
             end_date=case.planned_date)
    return len(rows)


def _case_account(case, account_no) -> CaseAccount:
    ca = case.accounts.select_related("account").filter(account__account_no=account_no).first()
    if ca is None:
        raise DecommissionError(f"电表户号 {account_no} 不属于该站址",
                                f"account {account_no} does not feed this site",
                                ErrorCode.NOT_FOUND)
    return ca


def record_reading(user, pk, account_no: str, reading: Decimal, read_on: date,
                   reason: str) -> CaseAccount:
    """最终抄表: the account's final meter reading on the day it was read."""
    _require(user, reason)
    if reading is None or reading < 0:
        raise DecommissionError("读数应为非负数", "the reading must not be negative")
    with transaction.atomic():
        case = case_for_change(user, pk)
        _open(case)
        ca = _case_account(case, account_no)
        before = {"final_reading": ca.final_reading, "read_on": ca.read_on}
        ca.final_reading, ca.read_on = reading, read_on
        ca.save(update_fields=["final_reading", "read_on"])
        _log(case, dom.READINGS, user, reason, account_no=account_no, reading=str(reading),
             read_on=read_on, before=before)
    return ca


def close_account(user, pk, account_no: str, closed_on: date, reason: str) -> CaseAccount:
    """销户: the account is closed with the grid or the landlord; its final reading first."""
    _require(user, reason)
    with transaction.atomic():
        case = case_for_change(user, pk)
        _open(case)
        ca = _case_account(case, account_no)
        if ca.final_reading is None and not ca.account.lump_sum:
            raise DecommissionError(f"请先录入电表户号 {account_no} 的最终读数",
                                    f"record the final reading of {account_no} first",
                                    ErrorCode.CONFLICT)
        ca.closed_on = closed_on
        ca.save(update_fields=["closed_on"])
        _log(case, dom.ACCOUNTS, user, reason, account_no=account_no, closed_on=closed_on)
    return ca


def terminate_rent(user, pk, reason: str) -> int:
    """场租合同终止 on the decommission date, the last payment prorated (rent program)."""
    _require(user, reason)
    with transaction.atomic():
        case = case_for_change(user, pk)
        _open(case)
        n = rentlink.terminate(case.site_id, case.planned_date, user, reason)
        _log(case, dom.RENT, user, reason, contracts=n, on=case.planned_date)
    return n


def archive(user, pk, reason: str) -> Decommissioning:
    """站址归档: only when nothing is open — no tenancy running past the date, no bill or
    rent payment still due, every account read and closed, rent terminated."""
    _require(user, reason)
    with transaction.atomic():
        case = case_for_change(user, pk)
        _open(case)
        items = dom.blockers(facts(case))
        if not items:
            _archive(case, user, reason)
            return case
    # the refusal is logged too (who tried, why, what was open)
    _log(case, "REFUSED", user, reason, open=[en for _, en in items])
    raise DecommissionError("不能归档：" + "；".join(zh for zh, _ in items),
                            "cannot archive: " + "; ".join(en for _, en in items),
                            ErrorCode.CONFLICT)


def _archive(case, user, reason):
    Site.objects.filter(pk=case.site_id).update(status=SiteStatus.ARCHIVED,
                                                decommission_date=case.planned_date)
    case.status, case.archived_at = Decommissioning.Status.ARCHIVED, timezone.now()
    case.save(update_fields=["status", "archived_at"])
    _log(case, dom.ARCHIVE, user, reason, decommission_date=case.planned_date)


def reopen(user, pk, reason: str) -> Decommissioning:
    """重新启用: the site is back in service (its case ends); logged with the reason."""
    _require(user, reason)
    with transaction.atomic():
        case = case_for_change(user, pk)
        if case.status == Decommissioning.Status.REOPENED:
            return case
        was = case.status
        Site.objects.filter(pk=case.site_id).update(status=SiteStatus.ACTIVE,
                                                    decommission_date=None)
        case.status = Decommissioning.Status.REOPENED
        case.save(update_fields=["status"])
        _log(case, "REOPEN", user, reason, was=was)
    if was == Decommissioning.Status.ARCHIVED:
        # a bill held only because the site was archived is judged again
        from towerledger.bills.services import reaudit

        held = Bill.objects.filter(account__splits__site_id=case.site_id,
                                   flags__code="SITE_ARCHIVED", flags__status="OPEN")
        reaudit(list(held.values_list("pk", flat=True).distinct()), user)
    return case
