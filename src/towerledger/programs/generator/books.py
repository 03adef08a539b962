"""油机发电's rule for `towerledger check` (registered in ``analysis.books`` by the app's
ready()): GEN_ADVANCE (Dr the cost of each run recorded as paid, Cr the GENERATOR lines a
run is billed as, the tower's part included) equals the cost of the runs paid less that of
the runs billed — negative while runs are billed before they are paid."""

from decimal import Decimal

from django.db.models import Sum

from towerledger.analysis.books import AccountRule
from towerledger.programs.generator.models import Run
from towerledger.settlement.models import Line


def paid_less_billed() -> Decimal:
    paid = Run.objects.filter(paid_date__isnull=False).aggregate(s=Sum("cost"))["s"]
    billed = Line.objects.filter(kind=Line.Kind.GENERATOR).aggregate(s=Sum("cost_share"))["s"]
    return Decimal(str(paid or 0)) - Decimal(str(billed or 0))


GEN_ADVANCE_OPEN = AccountRule(
    name="发电垫付与发电单不符 generator advance rule", account="GEN_ADVANCE",
    expected=paid_less_billed, what="已付减已出账发电单 runs paid − runs billed")
