"""The decommission program in the synthetic province (hooks: see synth.programs).

* ``end``: one site in progress: the landlord takes the ground back at the end of next
  month; the clerk has requested the decommissioning, ended the operators' tenancies on
  that day (through the tenancies import) and read the meter; the final bills, the
  accounts' closure, the rent and the archive are still open on its checklist.
"""

import random
from datetime import timedelta


def end(user, rng, today):
    from towerledger.domain.months import month_end, next_month
    from towerledger.programs.decommission import services
    from towerledger.sites.models import AccountSite, Site

    r = random.Random("decommission-end")
    fed = AccountSite.objects.filter(split_ratio=100, site__status="ACTIVE",
                                     site__tenancies__end_date__isnull=True,
                                     site__hosted_sites__isnull=True)
    codes = list(fed.order_by("site__site_code").values_list("site__site_code", flat=True)
                 .distinct()[:50])
    if not codes:
        return
    site = Site.objects.get(site_code=r.choice(codes))
    day = month_end(next_month(today))
    case = services.request(user, site.site_code, day,
                            "业主收回场地，运营商同意退租 landlord takes the ground back")
    services.end_tenancies(user, case.pk, "运营商退租确认函 operators' notices of termination")
    account = site.account_splits.select_related("account").first().account
    last = account.bills.order_by("-period_end").values_list("end_reading", flat=True).first()
    services.record_reading(user, case.pk, account.account_no,
                            (last or 0) + r.randrange(50, 400), today - timedelta(days=1),
                            "拆站前最终抄表 final reading before the works")
