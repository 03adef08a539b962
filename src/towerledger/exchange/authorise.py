"""Building blocks of each kind's ``authorise``: which rows of a file name records outside
the importing user's scope. Set-wise: one query per column, whatever the file's size.

The gate is ``access.scope.writable`` (a clerk's city; a record fed from several sites only
when every one is in it). A value the database does not know is left to the kind's own
check ("unknown site_code …"); only records that exist and lie outside are refused here.
"""

from towerledger.access.scope import OUTSIDE_EN, OUTSIDE_ZH, writable, writes_everywhere
from towerledger.db.bulk import OneOf, parts
from towerledger.importers.schema import RowError


def outside(record, column: str, value) -> RowError:
    return RowError(record["_row"], column, f"{OUTSIDE_ZH}：{value}", f"{OUTSIDE_EN}: {value}")


def outside_rows(records, user, model, column: str, field: str | None = None
                 ) -> list[RowError]:
    """Rows whose ``column`` names an existing ``model`` row (by ``field``, default the
    column's name) that ``user`` may not change."""
    if writes_everywhere(user):
        return []
    field = field or column
    values = {r[column] for r in records if r.get(column)}
    known, allowed = set(), set()
    for part in parts(values):
        known |= set(model.objects.filter(OneOf(field, part)).values_list(field, flat=True))
        allowed |= set(writable(user, model.objects.filter(OneOf(field, part)))
                       .values_list(field, flat=True))
    return [outside(r, column, r[column]) for r in records
            if r.get(column) in known and r[column] not in allowed]


def combine(*checks):
    """One ``authorise`` from several; a row is reported once per column."""
    def authorise(records, importer) -> list[RowError]:
        errors = []
        for check in checks:
            errors += check(records, importer)
        return list(dict.fromkeys(errors))

    return authorise
