"""供电条件 (dated): an account's supply terms — supply mode (直供电 / 转供电), supplier type,
input invoice type and contract price — are dated master data (DOMAIN.md §2, §7 转改直:
"on done the account's supply type becomes DIRECT from that date (dated master data: the
tax factor follows)").

The rule, the one lookup every consumer asks:

* the terms on day D are those of the latest dated row effective on or before D;
* before the first dated row, the account's original terms (what it was before its first
  change; an account that never changed has only these);
* a bill is judged on its **period end** — the day the tax-factor table is read on
  (``domain.tax``: one factor per bill, the row in force on its period end), so a bill's
  tax factor, contract price and supply mode all come from the same day.

Pure Python, no Django.
"""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Terms:
    """What a bill of the account is judged by (the fields 转改直 changes)."""

    supply_mode: str
    supplier_type: str
    input_invoice_type: str
    contract_price: Decimal | None = None


@dataclass(frozen=True)
class DatedTerms:
    """Terms in force from ``effective_from`` until the next dated row."""

    effective_from: date
    terms: Terms


def bill_day(period_start: date, period_end: date) -> date:
    """The day a bill is judged by: its period end (as the tax-factor table is read)."""
    return period_end


class History:
    """One account's terms: the original ones and the dated rows (any order given)."""

    __slots__ = ("original", "_dates", "_terms")

    def __init__(self, original: Terms, dated: Iterable[DatedTerms] = ()):
        rows = sorted(dated, key=lambda r: r.effective_from)
        self.original = original
        self._dates = [r.effective_from for r in rows]
        self._terms = [r.terms for r in rows]

    def on(self, day: date) -> Terms:
        """The latest dated row effective on or before ``day``; before the first, the
        original terms."""
        i = bisect_right(self._dates, day)
        return self._terms[i - 1] if i else self.original

    def between(self, first: date, last: date) -> list[Terms]:
        """Every set of terms in force on some day of ``first..last`` (in date order)."""
        out = [self.on(first)]
        out += [t for d, t in zip(self._dates, self._terms, strict=True) if first < d <= last]
        return out

    @property
    def dated(self) -> list[DatedTerms]:
        return [DatedTerms(d, t) for d, t in zip(self._dates, self._terms, strict=True)]


def terms_on(original: Terms, dated: Iterable[DatedTerms], day: date) -> Terms:
    """The account's terms on ``day`` (see the module doc)."""
    return History(original, dated).on(day)
