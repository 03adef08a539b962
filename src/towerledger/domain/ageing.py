"""Ageing of outstanding receivables (账龄, DOMAIN.md §6): days since the line was pushed,
in the buckets 0–30, 31–60, 61–90, 91–180, 181–365 and over 365 days."""

BOUNDS = ((0, 30), (31, 60), (61, 90), (91, 180), (181, 365), (366, None))


def bucket(days: int) -> int:
    """The index in ``BOUNDS`` of an age in days; a negative age (a push dated after the
    as-of day, a clock skew) counts as the newest."""
    return next(i for i, (_lo, hi) in enumerate(BOUNDS) if hi is None or days <= hi)
