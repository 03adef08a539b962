"""The kinds of file the product imports and exports (sites, tenancies, bills …).

Each business app registers a ``Kind``: its schema (columns), a ``check`` for cross-row and
database rules, an ``authorise`` for what the importing user may write (their scope, and
whether the file may create organisation data), a ``store`` that upserts, and
``export_rows`` for the canonical export.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from towerledger.exchange.staged import Staged
from towerledger.importers.schema import RowError, Schema


@dataclass(frozen=True)
class Importer:
    """Who imports, and with which options: ``authorise`` judges each row by these."""

    user: object = None          # None: the system itself (a CLI run without --user)
    create_org: bool = False     # the file may create provinces, cities and counties


@dataclass(frozen=True)
class Kind:
    name: str
    schema: Schema
    check: Callable[[list[dict]], list[RowError]]
    store: Callable[..., object]
    export_rows: Callable[[object], Iterator[dict]]
    export_fields: tuple[str, ...]
    importable: bool = True
    # (records, Importer) -> row errors "outside your scope"; an importable kind without
    # one is refused to everybody but the system and province admins (fail closed)
    authorise: Callable[[list[dict], Importer], list[RowError]] | None = None
    # records -> {business key: {field: text}}: the stored state an import preview
    # compares before and after (exchange.preview); None: the preview gives counts only
    snapshot: Callable[[list[dict]], dict] | None = None
    # records -> what storing them led to, for the result page (JSON): bills held by a
    # finding, how each receipt was matched; None: the counts say it all
    outcome: Callable[[list[dict]], dict] | None = None
    # every check judges a row by itself and the database (no rule across rows beyond the
    # schema's key and unique columns), and storing a part of the file at a time is the
    # same as storing it whole: the import streams the file in parts (exchange.services)
    streams: bool = False
    # on PostgreSQL: the kind's check and store as set-based SQL over a staging table the
    # file is copied into (exchange.staged); None: the Python path everywhere
    staged: Staged | None = None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown kind {name!r}; known: {', '.join(sorted(KINDS))}") from None
