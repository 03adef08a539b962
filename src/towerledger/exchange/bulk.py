"""Set-wise upsert by natural key: a few queries per thousand rows, never one per row."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

CHUNK = 5000


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
            model.objects.bulk_update(changed, list(fields), batch_size=500)
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
