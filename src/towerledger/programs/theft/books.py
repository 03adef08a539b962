"""偷电追缴's rule for `towerledger check` (registered in ``analysis.books`` by the app's
ready()): RECOVERY (Cr the money recovered on a case, Dr the RECOVERY_CREDIT lines handing it
back, the tower's part included) equals the recoveries not yet credited back — nothing, as
a recovery is credited back in its own transaction."""

from decimal import Decimal

from django.db.models import Sum

from towerledger.analysis.books import AccountRule
from towerledger.programs.theft.models import CaseRecovery
from towerledger.settlement.models import Line


def not_credited_back() -> Decimal:
    got = CaseRecovery.objects.aggregate(s=Sum("amount"))["s"]
    back = Line.objects.filter(kind=Line.Kind.RECOVERY_CREDIT).aggregate(
        s=Sum("cost_share"))["s"]      # credits: negative
    return Decimal(str(got or 0)) + Decimal(str(back or 0))


RECOVERY_OPEN = AccountRule(
    name="追缴款与未退还追缴不符 theft recovery rule", account="RECOVERY",
    expected=not_credited_back, what="未退还追缴 recoveries not credited back",
    credit_side=True)
