"""暂估's rule for `towerledger check` (registered in ``analysis.books`` by the app's ready()):
the ACCRUED account (a liability, credited by each accrual's entry and debited by its
reversal) equals the accruals posted and not yet reversed."""

from django.db.models import Sum

from towerledger.analysis.books import AccountRule
from towerledger.programs.accruals.models import Accrual


def open_accruals():
    """The accruals posted (amount above 0) and not reversed: their amounts summed."""
    return Accrual.objects.filter(posted_on__isnull=False, reversed_on__isnull=True) \
        .aggregate(s=Sum("amount"))["s"]


ACCRUED_OPEN = AccountRule(
    name="暂估应付与未冲回暂估不符 accrual rule", account="ACCRUED", expected=open_accruals,
    what="未冲回暂估 open accruals", credit_side=True)
