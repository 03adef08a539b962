"""场租's rules for `towerledger check` (registered in ``analysis.books`` by the app's ready()):

* RENT_ADVANCE (Dr on a rent payment, Cr by its RENT lines, the tower's part included)
  equals the rent payments not yet passed through;
* RENT_DEPOSIT (Dr on a deposit payment; nothing returns a deposit yet) equals the deposits
  paid.
"""

from django.db.models import Sum

from towerledger.analysis.books import AccountRule
from towerledger.programs.rent.models import RentPayment


def not_passed_through():
    return RentPayment.objects.filter(kind=RentPayment.Kind.RENT, lines__isnull=True) \
        .aggregate(s=Sum("amount"))["s"]


def deposits_paid():
    return RentPayment.objects.filter(kind=RentPayment.Kind.DEPOSIT) \
        .aggregate(s=Sum("amount"))["s"]


RENT_ADVANCE_OPEN = AccountRule(
    name="场租垫付与未转嫁付款不符 rent advance rule", account="RENT_ADVANCE",
    expected=not_passed_through, what="未转嫁场租付款 rent paid not passed through")
RENT_DEPOSITS = AccountRule(
    name="场租押金与已付押金不符 rent deposit rule", account="RENT_DEPOSIT",
    expected=deposits_paid, what="已付押金 deposits paid")
