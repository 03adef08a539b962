"""Market trading (市场化交易) in the synthetic province (hooks: see synth.programs).

* ``begin``: the province signs a yearly contract with a trader (售电公司) at a traded
  price, and the clerk enrols about 40 direct accounts before the first month's bills are
  imported. The traded price is set so that most of them are billed at or below it (their
  savings are realised: kWh × (catalogue − billed price), at most the contract's gap) and
  a few above it: those bills are TRADING_DISCOUNT findings (the discount is missing).
"""

import random
from datetime import date, timedelta
from decimal import Decimal

ENROL = 40


def begin(user, rng, first_month, today):
    from towerledger.org.models import Province
    from towerledger.programs.trading import services
    from towerledger.sites.models import AccountSite, SupplyAccount

    r = random.Random(f"trading-{first_month:%Y-%m}")
    for province in Province.objects.order_by("name"):
        ids = AccountSite.objects.filter(site__county__city__province=province).values(
            "account_id")
        direct = list(SupplyAccount.objects.filter(
            pk__in=ids, supply_mode="DIRECT", lump_sum=False, contract_price__isnull=False)
            .order_by("account_no"))
        if len(direct) < 5:
            continue
        chosen = sorted(r.sample(direct, min(ENROL, len(direct))),
                        key=lambda a: (a.contract_price, a.account_no))
        traded = chosen[int(len(chosen) * 0.85) - 1].contract_price
        catalogue = (traded + Decimal("0.08")).quantize(Decimal("0.0001"))
        end = date(first_month.year + 1, first_month.month, 1) - timedelta(days=1)
        c = services.save_contract(
            user, code=f"TC-{first_month:%Y}-{province.pk:02d}", province=province,
            year=first_month.year, trader="华中电力售电有限公司", start=first_month, end=end,
            catalogue_price=catalogue, traded_price=traded,
            reason="演示：年度市场化交易合同 demo yearly contract")
        services.enrol(user, c, chosen, reason="演示：直供电户号参加市场化交易 demo enrolment")
