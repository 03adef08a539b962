"""The one way the staged-path tests run an import both ways: the Python path, then the
staged path (exchange.staged), each on the same database state and rolled back after."""

from django.db import transaction

from towerledger.exchange import staged as staging
from towerledger.exchange.registry import KINDS
from towerledger.exchange.services import run_import


def both_paths(kind, path, stored, user=None, keep_going=False, outcome=lambda o: o, **kw):
    """(python, staged): each ``(errors (row, column, zh, en), error count, counts or None
    when nothing was stored, rows set aside, rows, outcome(result.outcome), stored())``."""
    out = []
    for staged in (False, True):
        assert staging.applies(KINDS[kind], False, staged) is staged
        with transaction.atomic():
            result = run_import(kind, path, user, keep_going=keep_going, staged=staged, **kw)
            out.append(([(e.row, e.column, e.zh, e.en) for e in result.errors],
                        result.error_count, result.counts if result.stored else None,
                        result.set_aside, result.rows, outcome(result.outcome), stored()))
            transaction.set_rollback(True)
    return tuple(out)
