"""The conversion program (转改直) in the synthetic province (hooks: see synth.programs).

* ``begin``: each province's direct catalogue price (0.65 yuan/kWh from the first month).
* ``month``: in the second month the clerk submits projects for the top candidates (the
  ranking of the candidates page); the province approves most, one fails (the landlord
  refuses); in the third month the approved ones are built and most are done on the 20th
  (their accounts turn direct from the 21st), one stays built; so projects exist in every
  state and the done ones realise savings on the bills of the later months.

The bills of the demo's files were written before the replay, so a converted account's
later bills keep the landlord's price (the demo's savings are the projects' price gap ×
those bills' kWh; those bills carry a PRICE_CONTRACT warning against the new contract
price). Its own random stream (seeded by the month), so other programs' data do not move.
"""

import random
from datetime import timedelta
from decimal import Decimal

from towerledger.domain.errors import DomainError

SUBMIT = 8
_state = {"months": 0}


def begin(user, rng, first_month, today):
    from towerledger.org.models import Province
    from towerledger.programs.conversion import services

    _state["months"] = 0
    for p in Province.objects.all():
        services.set_direct_price(user, p, first_month, Decimal("0.6500"),
                                  reason="演示：直供目录电价 demo catalogue price")


def month(user, rng, month, today):
    i = _state["months"]
    _state["months"] += 1
    r = random.Random(f"conversion-{month:%Y-%m}")
    try:
        if i == 1:
            _submit(user, r, month, today)
        elif i == 2:
            _finish(user, r, month, today)
    except DomainError:
        pass    # the demo goes on; the pages show what was done


def _submit(user, r, month, today):
    from towerledger.programs.conversion import report, services
    from towerledger.sites.models import SupplyAccount

    on = min(month + timedelta(days=4), today)
    rows = [c for c in report.candidates(None, today=on) if c["yearly_kwh"] > 0
            and not c["project"]][:SUBMIT]
    accounts = {a.pk: a for a in SupplyAccount.objects.filter(
        pk__in=[c["account_id"] for c in rows])}
    for n, c in enumerate(rows):
        p = services.submit(user, accounts[c["account_id"]], submitted_on=on,
                            reason="演示：高价转供电，申请转改直 demo: high resupply price")
        if n == len(rows) - 1:
            services.advance(user, p, "fail", on=min(on + timedelta(days=6), today),
                             reason="演示：业主不同意改造 demo: the landlord refused")
        elif n < len(rows) - 2:
            services.advance(user, p, "approve", on=min(on + timedelta(days=6), today),
                             reason="演示：省公司批复 demo: approved")


def _finish(user, r, month, today):
    from towerledger.programs.conversion import services
    from towerledger.programs.conversion.models import Project

    built_on = min(month + timedelta(days=9), today)
    done_on = min(month + timedelta(days=19), today)
    approved = list(Project.objects.filter(status="APPROVED").order_by("code"))
    for n, p in enumerate(approved):
        services.advance(user, p, "build", on=built_on,
                         reason="演示：施工完成，供电局验收 demo: built")
        if n < len(approved) - 1:
            cost = (p.estimated_cost * Decimal(r.randint(90, 115)) / 100).quantize(
                Decimal("0.01"))
            services.advance(user, p, "complete", on=done_on, actual_cost=cost,
                             reason="演示：供电局送电，户号转为直供 demo: grid supply on")
