"""Set-wise upsert by natural key: a few queries per thousand rows, never one per row."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

CHUNK = 5000
MAX_PARAMS = 30000  # under SQLite's 32,766 host parameters per statement


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "Counts"):
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def chunked(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def lookup_ids(model, field: str, values: Iterable) -> dict:
    """{natural key value: pk} for the values that exist, in chunks."""
    values = list(set(values))
    found = {}
    for part in chunked(values):
        found.update(model.objects.filter(**{f"{field}__in": part}).values_list(field, "pk"))
    return found


def upsert(model, rows: list[dict], key: Sequence[str], fields: Sequence[str],
           progress: Callable[[int], None] | None = None, touched: set | None = None) -> Counts:
    """Create rows whose ``key`` is new, update rows whose ``fields`` differ, skip the rest.

    ``rows`` hold model attribute names (``site_id``, not ``site``). The first key field
    drives the lookup of existing rows, in chunks. Keys of created or updated rows are
    added to ``touched`` when given.
    """
    counts = Counts()
    first = key[0]
    for part in chunked(rows):
        existing = {
            tuple(r[k] for k in key): r
            for r in model.objects.filter(**{f"{first}__in": {row[first] for row in part}})
            .values("pk", *key, *fields)
        }
        new, changed = [], []
        for row in part:
            old = existing.get(tuple(row[k] for k in key))
            if old is None:
                new.append(model(**row))
            elif any(_differs(old[f], row[f]) for f in fields):
                changed.append(model(pk=old["pk"], **row))
            else:
                counts.unchanged += 1
        model.objects.bulk_create(new, batch_size=2000)
        if changed:
            bulk_set(model, [{"pk": o.pk, **{f: getattr(o, f) for f in fields}}
                             for o in changed], fields)
        if touched is not None:
            touched.update(tuple(getattr(o, k) for k in key) for o in (*new, *changed))
        counts.created += len(new)
        counts.updated += len(changed)
        if progress:
            progress(len(part))
    return counts


def _differs(old, new) -> bool:
    if old is None or new is None:
        return old is not new
    return old != new


def bulk_set(model, rows: list[dict], fields: Sequence[str]) -> int:
    """Set ``fields`` of many rows, each to its own values, in one statement per batch.

    ``rows`` are dicts with ``pk`` and the attribute names of ``fields``. Django's
    ``bulk_update`` builds a CASE expression per row and field, which costs seconds per
    ten thousand rows; this is ``UPDATE … FROM (VALUES …) AS v``, which
    SQLite (≥ 3.33) and PostgreSQL both run set-wise. Returns the rows updated.
    """
    if not rows:
        return 0
    meta = model._meta
    cols = [meta.get_field(f) for f in fields]
    pk = meta.pk
    qn = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"

    def slot(field):
        return f"CAST(%s AS {field.db_type(connection)})" if postgres else "%s"

    row_sql = "(" + ", ".join([slot(pk)] + [slot(c) for c in cols]) + ")"
    # SQLite names a VALUES table's columns column1, column2, …; PostgreSQL takes the same
    # names as an alias list.
    names = [f"column{i + 1}" for i in range(len(cols) + 1)]
    alias = f"v({', '.join(names)})" if postgres else "v"
    sets = ", ".join(f"{qn(c.column)} = v.{names[i + 1]}" for i, c in enumerate(cols))
    table = qn(meta.db_table)
    batch = max(1, min(CHUNK, MAX_PARAMS // (len(cols) + 1)))
    done = 0
    with connection.cursor() as cur:
        for part in chunked(rows, batch):
            params = []
            for r in part:
                params.append(pk.get_db_prep_value(r["pk"], connection))
                params.extend(c.get_db_prep_value(r[c.attname if c.attname in r else c.name],
                                                  connection) for c in cols)
            cur.execute(f"UPDATE {table} SET {sets} FROM (VALUES "
                        f"{', '.join([row_sql] * len(part))}) AS {alias} "
                        f"WHERE {table}.{qn(pk.column)} = v.column1", params)
            done += cur.rowcount
    return done
