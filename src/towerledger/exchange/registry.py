"""The kinds of file the product imports and exports (sites, tenancies, bills …).

Each business app registers a ``Kind``: its schema (columns), a ``check`` for cross-row and
database rules, a ``store`` that upserts, and ``export_rows`` for the canonical export.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from towerledger.importers.schema import RowError, Schema


@dataclass(frozen=True)
class Kind:
    name: str
    schema: Schema
    check: Callable[[list[dict]], list[RowError]]
    store: Callable[..., object]
    export_rows: Callable[[object], Iterator[dict]]
    export_fields: tuple[str, ...]
    importable: bool = True


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown kind {name!r}; known: {', '.join(sorted(KINDS))}") from None
