"""The theft program in the synthetic province (hooks: see synth.programs).

* ``begin``: the province's sharing agreement (tower 50 % of theft savings) and its step
  deadline (30 days).
* ``month``: the clerk opens a case from a few of the month's theft findings (BENCH_DC,
  BENCH_SMART, BENCH_RATED, a step up MOM or the meter analytics' THEFT_SUSPECT; the
  generator injects theft as a kWh spike), most worked at once, and works the earlier
  cases one or two steps on, so that every state
  exists: some stay suspected or under investigation past their deadline, one in four is
  dismissed, the others are confirmed and remediated at once (the first month's early, so
  several months of savings and SAVINGS_SHARE lines exist by the end); the first confirmed
  case with paid bills gets a recovery (追缴) credited back as RECOVERY_CREDIT lines.
  The month close measures the savings and charges the shares.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum

from towerledger.domain.errors import DomainError

CASES_PER_MONTH = 5
CODES = ("THEFT_SUSPECT", "BENCH_DC", "BENCH_SMART", "BENCH_RATED", "MOM")
_state = {"recovered": False}


def begin(user, rng, first_month, today):
    from towerledger.org.models import Province
    from towerledger.programs.theft.services import set_agreement, set_step_days

    _state["recovered"] = False
    for p in Province.objects.all():
        set_agreement(user, province_id=p.pk, operator_id=None, program="THEFT",
                      tower_share_pct=Decimal(50), effective_from=first_month,
                      reason="演示：偷电整治效益分成协议 demo agreement")
        set_step_days(user, p.pk, 30, "演示：每步 30 天 demo deadline")


def month(user, rng, month, today):
    from towerledger.bills.models import Bill, Flag
    from towerledger.domain.months import month_end
    from towerledger.domain.savings import CaseState
    from towerledger.programs.theft import services
    from towerledger.programs.theft.models import Case

    r = random.Random(f"theft-{month:%Y-%m}")
    day = min(month_end(month) + timedelta(days=3), today)
    # the earlier cases, one or two steps on
    for case in Case.objects.exclude(state=CaseState.CLOSED).select_related("flag") \
            .order_by("pk"):
        _advance(user, services, case, day, CaseState)
    # new cases from this month's theft findings
    opened = 0
    flags = sorted(Flag.objects.filter(code__in=CODES, theft_case__isnull=True,
                                       bill__period_start__gte=month,
                                       bill__period_start__lte=month_end(month),
                                       bill__status=Bill.Status.PAID)
                   .values_list("code", "bill__account__account_no", "pk"),
                   key=lambda f: (f[0] == "MOM", f[1], f[0]))   # benchmark findings first
    flags = [pk for *_, pk in flags]
    seen = set(Case.objects.values_list("account_id", flat=True))   # one case per account
    for pk in flags:
        flag = Flag.objects.select_related("bill").get(pk=pk)
        if flag.bill.account_id in seen:
            continue
        seen.add(flag.bill.account_id)
        try:
            case = services.open_from_flag(user, pk, today=day)
        except DomainError:   # an account without a fed site, out of scope: skip it
            continue
        opened += 1
        if case.state == CaseState.SUSPECTED and r.random() < 0.8:
            for _ in range(3):   # worked at once: investigated, confirmed, remediated
                _advance(user, services, Case.objects.select_related("flag").get(pk=case.pk),
                         day, CaseState)
        if opened >= CASES_PER_MONTH:
            break
    if not _state["recovered"]:
        _recover(user, services, Case, Bill, Sum, day, CaseState, r)


def _advance(user, services, case, day, states):
    """A case from a benchmark finding (the injected theft) is confirmed and remediated;
    one from a step in use (MOM) by its number: % 5 == 0 stays suspected, 1 stays under
    investigation, 2 stays confirmed, 3 is dismissed (and closed when even), 4 is remediated."""
    theft = case.flag is None or case.flag.code != "MOM"
    n = 4 if theft else case.pk % 5
    if case.state == states.SUSPECTED and n != 0:
        services.move(user, case.pk, "INVESTIGATE", "演示：派单现场核查 site visit", today=day)
        return
    if case.state == states.INVESTIGATING and n != 1:
        if n == 3:
            services.move(user, case.pk, "DISMISS", "演示：负载增加属实，排除 load grew", today=day)
        else:
            services.move(user, case.pk, "CONFIRM", "演示：发现私接线路 illegal tap found",
                          today=day)
        return
    if case.state == states.CONFIRMED and n != 2:
        on = max(case.detected_on, min(day, case.state_since + timedelta(days=2)))
        services.move(user, case.pk, "REMEDIATE", "演示：拆除私接线路 tap removed", on=on,
                      today=day)
        return
    if case.state == states.DISMISSED and case.pk % 2 == 0:   # the others stay dismissed
        services.move(user, case.pk, "CLOSE", "演示：结案 closed", today=day)
    elif case.state == states.REMEDIATED and theft and case.pk % 3 == 0:
        services.move(user, case.pk, "CLOSE", "演示：整改验收结案 closed", today=day)


def _recover(user, services, Case, Bill, Sum, day, states, r):   # noqa: N803
    for case in Case.objects.filter(state__in=[states.CONFIRMED, states.REMEDIATED,
                                               states.CLOSED], remediated_on__isnull=False) \
            .exclude(flag__code="MOM").order_by("pk"):   # a benchmark (theft) case
        paid = Bill.objects.filter(account_id=case.account_id, status=Bill.Status.PAID,
                                   period_start__lte=case.suspected_to,
                                   period_end__gte=case.suspected_from)
        amount = paid.aggregate(s=Sum("amount"))["s"]
        if not amount:
            continue
        recovered = (Decimal(amount) * Decimal("0.3")).quantize(Decimal("0.01"))
        try:
            services.record_recovery(user, case.pk, amount=recovered, received_on=day,
                                     payer="演示：业主 张某 landlord", reference=f"ZJ-{case.case_no}",
                                     today=day)
        except DomainError:   # no allocated bill: try the next case
            continue
        _state["recovered"] = True
        return
