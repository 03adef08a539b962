"""The accruals program in the synthetic province (hooks: see synth.programs).

The month close makes the accruals by itself (accounts whose bills do not cover a month:
a first bill that starts later, a bill resent in a later month's file, an account billed
every few months whose next bill has not come). ``begin`` records the province's reversal
rule so the demo's setting page shows one; ``end`` reverses what the bills have covered
since (the province reverses on the next month's first day, so nothing is left to do
unless an admin changed the rule)."""


def begin(user, rng, first_month, today):
    from towerledger.org.models import Province
    from towerledger.programs.accruals.models import AccrualSetting, ReverseOn

    for p in Province.objects.all():
        AccrualSetting.objects.get_or_create(province=p,
                                             defaults={"reverse_on": ReverseOn.NEXT_MONTH})


def end(user, rng, today):
    from towerledger.programs.accruals.services import reverse_covered

    reverse_covered(today, user)
