"""Calendar months (账期): the first day of the next month and the last day of this one."""

from datetime import date, timedelta


def next_month(d: date) -> date:
    """The first day of the month after ``d``'s."""
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def month_end(d: date) -> date:
    """The last day of ``d``'s month."""
    return next_month(d) - timedelta(days=1)
