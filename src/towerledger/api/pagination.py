"""Limit/offset pagination with a hard ceiling on the page size."""

from collections.abc import Callable, Iterable

from ninja import Field, Schema

from towerledger.api.params import MAX_OFFSET

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT})")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description=f"rows to skip, 0..{MAX_OFFSET}")


def page(qs, params: PageParams, rows: Callable[[object], Iterable] = list) -> dict:
    """One page of the ordered ``qs``: ``{count, limit, offset, next_offset, items}``.

    ``rows`` turns the sliced queryset into the items (e.g. ``.values(...)`` with the
    canonical names); it only ever sees ``limit`` rows.
    """
    count = qs.count()
    items = list(rows(qs[params.offset:params.offset + params.limit]))
    following = params.offset + len(items)
    return {"count": count, "limit": params.limit, "offset": params.offset,
            "next_offset": following if following < count else None, "items": items}
