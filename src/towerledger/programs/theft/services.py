"""The theft program's operations (DOMAIN.md §7): open a case, move it, attach evidence,
record a recovery and credit it back, measure savings and charge the tower's share.

Every function is one transaction; every change by a person is in the audit log with who and
why; the ones a retry can repeat are idempotent (a flag opens one case, a recovery's
reference is unique, a case-month is measured once per bill set and shared once)."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import uuid4

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.access.scope import can_change, writable
from towerledger.bills.models import Bill, Flag
from towerledger.domain import savings as rules
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.journal import Posting
from towerledger.domain.money import fen
from towerledger.domain.months import month_end
from towerledger.ledger.services import post_entries
from towerledger.programs.theft.models import (
    Case,
    CaseDeadline,
    CaseEvent,
    CaseEvidence,
    CaseRecovery,
    RecoveryCredit,
    SavingsMonth,
    ShareCharge,
    SharingAgreement,
)
from towerledger.settlement.models import Line
from towerledger.settlement.program_lines import Charge, push_program_lines
from towerledger.sites.models import AccountSite, Site, SupplyAccount

D = Decimal
BILL_KINDS = (Line.Kind.ALLOCATION, Line.Kind.ADJUSTMENT)
THEFT_CODES = ("THEFT_SUSPECT", "BENCH_DC", "BENCH_SMART", "BENCH_RATED", "YOY", "MOM")


def _require(user, reason: str | None = None):
    if user is not None and not can_change(user):
        raise DomainError("您的角色不能办理偷电案件", "your role cannot handle theft cases",
                          ErrorCode.FORBIDDEN)
    if reason is not None and not reason.strip():
        raise DomainError("请填写原因", "a reason is required", ErrorCode.INVALID)


def _case_for_change(user, case_id) -> Case:
    qs = Case.objects.select_for_update()
    case = (writable(user, qs) if user is not None else qs).filter(pk=case_id).first()
    if case is None:
        raise DomainError("没有这个案件", "no such case", ErrorCode.NOT_FOUND)
    return case


def step_days(province_id) -> int:
    row = CaseDeadline.objects.filter(province_id=province_id).first()
    return row.step_days if row else rules.DEFAULT_STEP_DAYS


def _snapshot(case: Case) -> dict:
    return {"state": case.state, "due": case.due, "remediated_on": case.remediated_on,
            "site": case.site.site_code, "account": case.account.account_no}


# ---- open ---------------------------------------------------------------------------------

def open_case(user, *, site: Site, account: SupplyAccount, suspected_from: date,
              suspected_to: date, detected_on: date, source: str = Case.Source.MANUAL,
              flag: Flag | None = None, handler=None, handler_name: str = "", note: str = "",
              today: date | None = None) -> Case:
    """A new case (SUSPECTED), or the one already open for the same flag or the same account
    and detection date (a retry opens nothing twice)."""
    _require(user)
    today = today or timezone.localdate()
    if suspected_to < suspected_from:
        raise DomainError("疑似期止日早于起日", "suspected_to is before suspected_from")
    if detected_on > today:
        raise DomainError("发现日期在将来", "detected_on is in the future")
    if not AccountSite.objects.filter(account=account, site=site).exists():
        raise DomainError(f"户号 {account.account_no} 不供电给站址 {site.site_code}",
                          f"account {account.account_no} does not feed {site.site_code}")
    if user is not None and not writable(user, Site.objects.filter(pk=site.pk)).exists():
        raise DomainError("不在您的范围内", "outside your scope", ErrorCode.OUT_OF_SCOPE)
    found = (Case.objects.filter(flag=flag).first() if flag else None) or \
        Case.objects.filter(account=account, detected_on=detected_on).first()
    if found:
        return found
    province_id = site.county.city.province_id
    with transaction.atomic():
        case = Case.objects.create(
            case_no=f"TMP{uuid4().hex[:16]}", site=site, city_id=site.county.city_id,
            account=account, source=source, flag=flag, suspected_from=suspected_from,
            suspected_to=suspected_to, detected_on=detected_on, handler=handler,
            handler_name=handler_name or (handler.username if handler else ""), note=note,
            state=rules.CaseState.SUSPECTED, state_since=today,
            due=rules.step_due(today, step_days(province_id)),
            created_by=user if getattr(user, "pk", None) else None)
        case.case_no = f"TC{case.pk:06d}"
        _set_baseline(case)
        case.save(update_fields=["case_no", "baseline_per_day", "baseline_days"])
        CaseEvent.objects.create(case=case, event="OPEN", to_state=case.state, on=today,
                                 user=case.created_by, reason=note or source)
        record(user, "theft.open", "theft_case", case.case_no, None, _snapshot(case),
               note or f"偷电案件登记 theft case opened ({source})")
    return case


def open_from_flag(user, flag_id: int, note: str = "", detected_on: date | None = None,
                   today: date | None = None) -> Case:
    """One click on an audit finding: the case's account is the bill's, its site the first
    site the finding names (or the account's largest fed site), its suspected period the
    bill's, detected the day after the bill's period (when the audit saw it) unless given."""
    flags = Flag.objects.select_related("bill__account")
    if user is not None:
        from towerledger.access.scope import scoped
        flags = scoped(user, flags)
    flag = flags.filter(pk=flag_id).first()
    if flag is None:
        raise DomainError("没有这个稽核发现", "no such finding", ErrorCode.NOT_FOUND)
    bill = flag.bill
    named = [s.get("site") for s in (flag.figures or {}).get("sites", []) if s.get("site")]
    splits = AccountSite.objects.filter(account=bill.account).select_related(
        "site__county__city").order_by("-split_ratio", "site__site_code")
    site = next((s.site for s in splits if s.site.site_code in named), None) or \
        (splits[0].site if splits else None)
    if site is None:
        raise DomainError("该户号没有供电站址", "the account feeds no site")
    source = Case.Source.METER if flag.code == "THEFT_SUSPECT" else Case.Source.FLAG
    today = today or timezone.localdate()
    return open_case(user, site=site, account=bill.account, suspected_from=bill.period_start,
                     suspected_to=bill.period_end,
                     detected_on=detected_on or min(today, bill.period_end + timedelta(days=1)),
                     source=source, flag=flag, handler=user if getattr(user, "pk", None)
                     else None, note=note or f"{flag.code}: {flag.message_zh}", today=today)


# ---- workflow -----------------------------------------------------------------------------

def move(user, case_id: int, event: str, reason: str, *, on: date | None = None,
         today: date | None = None) -> Case:
    """One step of the workflow (``domain.savings.TRANSITIONS``) with who, when and why;
    REMEDIATE takes the remediation date ``on``."""
    _require(user, reason)
    today = today or timezone.localdate()
    with transaction.atomic():
        case = _case_for_change(user, case_id)
        before = _snapshot(case)
        new = rules.next_state(case.state, event)
        if event == rules.CaseEvent.REMEDIATE:
            on = on or today
            if on > today or on < case.detected_on:
                raise DomainError("整改日期须在发现日期与今天之间",
                                  "the remediation date must fall between detection and today")
            case.remediated_on = on
        frm, case.state, case.state_since = case.state, new, today
        case.due = rules.step_due(today, step_days(case.city.province_id))
        case.save(update_fields=["state", "state_since", "due", "remediated_on"])
        CaseEvent.objects.create(case=case, event=event, from_state=frm, to_state=new,
                                 on=on or today, user=user if getattr(user, "pk", None)
                                 else None, reason=reason)
        record(user, f"theft.{event.lower()}", "theft_case", case.case_no, before,
               _snapshot(case), reason)
    return case


def overdue_cases(qs, today: date | None = None):
    """Open cases (not closed) past their step's deadline."""
    today = today or timezone.localdate()
    return qs.exclude(state=rules.CaseState.CLOSED).filter(due__lt=today)


def add_evidence(user, case_id: int, upload, name: str) -> CaseEvidence:
    """An attachment already screened by the caller (web.uploads.screen)."""
    _require(user)
    with transaction.atomic():
        case = _case_for_change(user, case_id)
        ev = CaseEvidence.objects.create(case=case, file=upload, name=name[:200],
                                         uploaded_by=user if getattr(user, "pk", None) else None)
        record(user, "theft.evidence", "theft_case", case.case_no, None, {"file": name},
               "证据 evidence")
    return ev


def set_step_days(user, province_id: int, days: int, reason: str) -> None:
    from towerledger.access.scope import can_admin

    if user is not None and not can_admin(user):
        raise DomainError("仅省管理员可以设置", "province admins only", ErrorCode.FORBIDDEN)
    if not 1 <= days <= 365:
        raise DomainError("天数须在 1–365", "days must be 1–365")
    _require(None, reason)
    with transaction.atomic():
        row, _ = CaseDeadline.objects.get_or_create(province_id=province_id)
        before = row.step_days
        row.step_days = days
        row.save()
        record(user, "theft.deadline", "theft_deadline", province_id, {"step_days": before},
               {"step_days": days}, reason)


# ---- bills of an account ------------------------------------------------------------------

def _paid_bills(account_id, first: date, last: date):
    return list(Bill.objects.filter(account_id=account_id, status=Bill.Status.PAID,
                                    period_start__lte=last, period_end__gte=first)
                .order_by("period_start", "bill_no"))


def _uses(bills) -> list[rules.BillUse]:
    return [rules.BillUse(b.period_start, b.period_end, b.kwh or D(0),
                          b.unit_price if b.unit_price is not None else
                          (b.amount / b.kwh).quantize(D("0.0001")) if b.kwh else D(0))
            for b in bills]


def _set_baseline(case: Case) -> None:
    first, last = rules.baseline_window(case.detected_on)
    used = rules.use_per_day(_uses(_paid_bills(case.account_id, first, last)), first, last)
    case.baseline_per_day, case.baseline_days = used.per_day, used.days


def cost_shares(bills, weight=None) -> dict:
    """{tenancy pk or TOWER: yuan} of the current versions of the bills' lines (the operators'
    allocation and adjustment lines, the tower-borne remainders), each bill's lines weighted
    by ``weight(bill)`` (a Fraction; 1 when omitted). Keys map to (site, tenancy, operator,
    mode, code) through ``_parties``."""
    out: dict = defaultdict(Fraction)
    w = {b.pk: (weight(b) if weight else Fraction(1)) for b in bills}
    lines = Line.objects.filter(bill_id__in=list(w), kind__in=BILL_KINDS)
    for bill_id, tenancy_id, cost in lines.current().values_list("bill_id", "tenancy_id",
                                                                 "cost_share"):
        if tenancy_id:
            out[tenancy_id] += Fraction(cost) * w[bill_id]
    for bill_id, cost in lines.tower_borne().values_list("bill_id", "cost_share"):
        out[rules.TOWER] += Fraction(cost) * w[bill_id]
    return dict(out)


def _parties(keys) -> dict:
    from towerledger.sites.models import Tenancy

    return {t.pk: t for t in Tenancy.objects.filter(pk__in=[k for k in keys if k != rules.TOWER])
            .select_related("operator")}


def _split(amount: Decimal, shares: dict, parties: dict) -> dict:
    from towerledger.domain.money import largest_remainder

    weights = [(k, v) for k, v in sorted(
        shares.items(), key=lambda kv: (kv[0] == rules.TOWER, "" if kv[0] == rules.TOWER
                                        else parties[kv[0]].tenancy_id))]
    weights = [(k, max(v, Fraction(0))) for k, v in weights]
    if not weights:
        return {}
    if amount < 0:
        return {k: -v for k, v in largest_remainder(-amount, weights).items()}
    return largest_remainder(amount, weights)


# ---- recovery (追缴) ----------------------------------------------------------------------

def record_recovery(user, case_id: int, *, amount: Decimal, received_on: date, payer: str,
                    reference: str, today: date | None = None) -> CaseRecovery:
    """A receipt on the case (Dr CASH / Cr RECOVERY), credited back at once to those who bore
    the affected bills as RECOVERY_CREDIT lines. Idempotent by ``reference``."""
    _require(user)
    today = today or timezone.localdate()
    amount = fen(amount)
    reference = (reference or "").strip()
    if amount <= 0:
        raise DomainError("追缴金额须大于零", "the amount recovered must be positive")
    if not reference or not payer.strip():
        raise DomainError("请填写缴款人和凭证号", "payer and reference are required")
    found = CaseRecovery.objects.filter(reference=reference).first()
    if found:
        if found.case_id != case_id or found.amount != amount:
            raise DomainError(f"凭证号 {reference} 已用于另一笔追缴",
                              f"reference {reference} is already another recovery",
                              ErrorCode.CONFLICT)
        return found
    with transaction.atomic():
        case = _case_for_change(user, case_id)
        if case.state not in (rules.CaseState.CONFIRMED, rules.CaseState.REMEDIATED,
                              rules.CaseState.CLOSED):
            raise DomainError("案件确认偷电后才能追缴", "only a confirmed case has recoveries",
                              ErrorCode.CONFLICT)
        bills = _paid_bills(case.account_id, case.suspected_from, case.suspected_to)
        shares = cost_shares(bills)
        if not shares:
            raise DomainError("疑似期内没有已支付并分摊的账单", "no paid, allocated bill in the "
                              "suspected period", ErrorCode.CONFLICT)
        try:
            with transaction.atomic():
                rec = CaseRecovery.objects.create(case=case, amount=amount, received_on=received_on,
                                                  payer=payer.strip()[:120], reference=reference,
                                                  recorded_by=user if getattr(user, "pk", None)
                                                  else None)
        except IntegrityError:
            raise DomainError(f"凭证号 {reference} 已存在", f"reference {reference} exists",
                              ErrorCode.CONFLICT) from None
        code = case.site.site_code
        post_entries([(received_on, "THEFT_RECOVERY", reference, f"追缴 {case.case_no}",
                       [Posting("CASH", debit=amount, site=code),
                        Posting("RECOVERY", credit=amount, site=code)])], user,
                     site_ids={code: case.site_id})
        parties = _parties(shares)
        parts = _split(amount, shares, parties)
        total = sum(shares.values(), Fraction(0))
        charges = []
        for key, part in parts.items():
            if not part:
                continue
            share = shares[key] / total
            expl = {"case": case.case_no, "recovery": reference, "recovered": str(amount),
                    "cost_share": str(fen(D(shares[key].numerator) / D(shares[key].denominator))),
                    "share_pct": str(fen(D(share.numerator) * 100 / D(share.denominator))),
                    "bills": [b.bill_no for b in bills],
                    "text_zh": f"偷电追缴退还：案件 {case.case_no} 追缴 {amount} 元，按疑似期"
                               f"（{case.suspected_from}～{case.suspected_to}）账单承担比例 "
                               f"{fen(D(share.numerator) * 100 / D(share.denominator))}% 退还 {part} 元",
                    "text_en": f"Theft recovery credit: case {case.case_no} recovered {amount}; "
                               f"credited by the share borne of the bills of "
                               f"{case.suspected_from}..{case.suspected_to} "
                               f"({fen(D(share.numerator) * 100 / D(share.denominator))} %): {part}"}
            if key == rules.TOWER:
                charges.append(Charge(site_id=case.site_id, amount=-part,
                                      period_start=case.suspected_from,
                                      period_end=case.suspected_to, explanation=expl))
            else:
                t = parties[key]
                charges.append(Charge(site_id=t.site_id, amount=-part, tenancy_id=t.pk,
                                      operator_id=t.operator_id, mode=t.settlement_mode,
                                      period_start=case.suspected_from,
                                      period_end=case.suspected_to, explanation=expl,
                                      share=D(share.numerator) / D(share.denominator)))
        lines = push_program_lines("RECOVERY_CREDIT", charges, user=user,
                                   reference=f"TR-{reference}", memo=f"追缴退还 {case.case_no}",
                                   today=today)
        RecoveryCredit.objects.bulk_create([RecoveryCredit(recovery=rec, line=ln)
                                            for ln in lines])
        record(user, "theft.recovery", "theft_case", case.case_no, None,
               {"amount": amount, "reference": reference, "payer": payer,
                "credits": {str(k): v for k, v in parts.items()}}, f"追缴 recovery {reference}")
    return rec


# ---- savings ------------------------------------------------------------------------------

def measure(case: Case, upto: date | None = None) -> list[SavingsMonth]:
    """Store the savings of every month of the case's 12 whose bills are in (paid), up to
    ``upto`` (a month's first day); a month already shared is kept as it was charged."""
    if case.remediated_on is None or case.baseline_per_day is None or \
            case.state not in (rules.CaseState.REMEDIATED, rules.CaseState.CLOSED):
        return []
    months = [m for m in rules.savings_months(case.remediated_on) if upto is None or m <= upto]
    if not months:
        return []
    bills = _uses(_paid_bills(case.account_id, months[0], month_end(months[-1])))
    shared = set(SavingsMonth.objects.filter(case=case, shared_at__isnull=False)
                 .values_list("month", flat=True))
    out = []
    for m in months:
        if m in shared:
            continue
        ms = rules.month_savings(case.baseline_per_day, bills, m)
        if ms is None:
            continue
        row, _ = SavingsMonth.objects.update_or_create(case=case, month=m, defaults={
            "baseline_per_day": ms.baseline_per_day, "actual_per_day": ms.actual_per_day,
            "days": ms.days, "unit_price": ms.unit_price, "savings": ms.savings})
        out.append(row)
    return out


def recompute(user, case_id: int) -> list[SavingsMonth]:
    """The page's and the CLI's button: the baseline and every measurable month again."""
    _require(user)
    with transaction.atomic():
        case = _case_for_change(user, case_id)
        before = {"baseline_per_day": case.baseline_per_day}
        _set_baseline(case)
        case.save(update_fields=["baseline_per_day", "baseline_days"])
        rows = measure(case)
        record(user, "theft.recompute", "theft_case", case.case_no, before,
               {"baseline_per_day": case.baseline_per_day, "months": len(rows)},
               "重算节省 recompute savings")
    return rows


def tower_share(province_id: int, operator_id: int | None, program: str, on: date) -> Decimal:
    """The most specific agreement in force on ``on``: the operator's, else the province's
    for all operators, else 50 %."""
    qs = SharingAgreement.objects.filter(province_id=province_id, program=program,
                                         effective_from__lte=on).order_by("-effective_from")
    row = (qs.filter(operator_id=operator_id).first() if operator_id else None) or \
        qs.filter(operator__isnull=True).first()
    return row.tower_share if row else rules.DEFAULT_TOWER_SHARE


def set_agreement(user, *, province_id: int, operator_id: int | None, program: str,
                  tower_share_pct: Decimal, effective_from: date, reason: str):
    from towerledger.access.scope import can_admin

    if user is not None and not can_admin(user):
        raise DomainError("仅省管理员可以设置分成比例", "province admins only", ErrorCode.FORBIDDEN)
    _require(None, reason)
    if not D(0) <= tower_share_pct <= D(100):
        raise DomainError("比例须在 0–100%", "the share must be 0–100 %")
    if program not in SharingAgreement.Program.values:
        raise DomainError("未知的专项", "unknown program")
    share = (D(tower_share_pct) / 100).quantize(D("0.0001"))
    with transaction.atomic():
        row = SharingAgreement.objects.filter(province_id=province_id, operator_id=operator_id,
                                              program=program,
                                              effective_from=effective_from).first()
        before = {"tower_share": row.tower_share} if row else None
        if row:
            row.tower_share = share
            row.save(update_fields=["tower_share"])
        else:
            row = SharingAgreement.objects.create(
                province_id=province_id, operator_id=operator_id, program=program,
                tower_share=share, effective_from=effective_from,
                recorded_by=user if getattr(user, "pk", None) else None)
        record(user, "theft.agreement", "sharing_agreement", row.pk, before,
               {"province": province_id, "operator": operator_id, "program": program,
                "tower_share": share, "effective_from": effective_from}, reason)
    return row


def share(sm: SavingsMonth, user=None, today: date | None = None) -> list[Line]:
    """Charge the tower's share of one case-month to the operators who bore the account's
    bills that month, by their cost shares (SAVINGS_SHARE lines). Once per case-month."""
    today = today or timezone.localdate()
    with transaction.atomic():
        sm = SavingsMonth.objects.select_for_update().select_related(
            "case__site", "case__city").get(pk=sm.pk)
        if sm.shared_at is not None:
            return []
        case, m = sm.case, sm.month
        last = month_end(m)
        bills = _paid_bills(case.account_id, m, last)

        def weight(b):
            return Fraction(rules.overlap(b.period_start, b.period_end, m, last), b.days)

        shares = cost_shares(bills, weight)
        parties = _parties(shares)
        total = sum(shares.values(), Fraction(0))
        province = case.city.province_id
        # the province's agreement for all operators sets the tower's share of the saving;
        # an operator's own agreement changes its part
        base = tower_share(province, None, "THEFT", m)
        tower_amount = rules.tower_share_amount(sm.savings, base)
        parts = _split(tower_amount, shares, parties) if total else {}
        charges = []
        for key, part in parts.items():
            if key == rules.TOWER or not part:
                continue
            t = parties[key]
            pct = shares[key] / total
            own = tower_share(province, t.operator_id, "THEFT", m)
            if own != base:   # an operator's own agreement: its part at its own share
                part = fen(sm.savings * own * D(pct.numerator) / D(pct.denominator))
            pct_text = fen(D(pct.numerator) * 100 / D(pct.denominator))
            expl = {"case": case.case_no, "month": f"{m:%Y-%m}",
                    "baseline_per_day": str(sm.baseline_per_day),
                    "actual_per_day": str(sm.actual_per_day), "days": sm.days,
                    "unit_price": str(sm.unit_price), "savings": str(sm.savings),
                    "tower_share_pct": str(fen(own * 100)), "cost_share_pct": str(pct_text),
                    "text_zh": f"效益分成：案件 {case.case_no} {m:%Y-%m} 节省电费 =（基线 "
                               f"{sm.baseline_per_day} − 实际 {sm.actual_per_day} kWh/天）× "
                               f"{sm.days} 天 × 单价 {sm.unit_price} = {sm.savings} 元；铁塔分成 "
                               f"{fen(own * 100)}%，按本月电费承担比例 {pct_text}% 计 {part} 元",
                    "text_en": f"Savings share: case {case.case_no}, {m:%Y-%m}: saving = "
                               f"(baseline {sm.baseline_per_day} − actual {sm.actual_per_day} "
                               f"kWh/day) × {sm.days} days × price {sm.unit_price} = "
                               f"{sm.savings}; tower share {fen(own * 100)} %, your cost share "
                               f"of the month's bills {pct_text} %: {part}"}
            charges.append(Charge(site_id=t.site_id, amount=part, tenancy_id=t.pk,
                                  operator_id=t.operator_id, mode=t.settlement_mode,
                                  period_start=m, period_end=last, explanation=expl,
                                  share=D(pct.numerator) / D(pct.denominator)))
        lines = push_program_lines("SAVINGS_SHARE", charges, user=user,
                                   reference=f"TS-{sm.pk}", memo=f"效益分成 {case.case_no} {m:%Y-%m}",
                                   today=today, month=m)
        ShareCharge.objects.bulk_create([ShareCharge(savings_month=sm, line=ln) for ln in lines])
        sm.tower_share, sm.tower_amount, sm.shared_at = base, tower_amount, timezone.now()
        sm.save(update_fields=["tower_share", "tower_amount", "shared_at"])
    return lines


def run_month(month: date, user=None, today: date | None = None) -> dict:
    """Measure every remediated case up to ``month`` and share every measured, unshared
    case-month up to it. Idempotent (the month close's receiver)."""
    month = month.replace(day=1)
    today = today or timezone.localdate()
    measured = 0
    cases = Case.objects.filter(state__in=[rules.CaseState.REMEDIATED, rules.CaseState.CLOSED],
                                remediated_on__isnull=False, remediated_on__lt=month)
    for case in cases.select_related("site", "city"):
        measured += len(measure(case, upto=month))
    pushed = 0
    for sm in SavingsMonth.objects.filter(month__lte=month, shared_at__isnull=True,
                                          savings__gt=0).order_by("month", "case_id"):
        pushed += len(share(sm, user, today))
    SavingsMonth.objects.filter(month__lte=month, shared_at__isnull=True, savings=0).update(
        tower_share=D(0), tower_amount=D(0), shared_at=timezone.now())
    return {"measured": measured, "share_lines": pushed}


def last_case_number() -> int:
    return Case.objects.aggregate(n=Max("pk"))["n"] or 0
