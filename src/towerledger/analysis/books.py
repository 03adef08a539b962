"""`towerledger check` (对账检查): the books agree with themselves — the receivables
core's checks (``settlement.checks``) and collection's (``collection.checks``)."""

from towerledger.collection.checks import collection_checks
from towerledger.settlement.checks import run_checks


def check_books(limit: int = 20) -> list[str]:
    """Every problem found, in words (Chinese / English); an empty list means all is well."""
    return run_checks(limit) + collection_checks(limit)
