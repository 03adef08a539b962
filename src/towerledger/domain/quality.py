"""资源数据质量 (DOMAIN.md §7): the rules of a clean ledger as pure functions.

Each rule finds the records that break it among plain values the quality app reads
set-wise; the scorecard counts them per county and city against the records the rule
judges (its denominator), as a rate. No Django here.
"""

import calendar
import statistics
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# code: (中文, English, what the rule judges: the rate's denominator, the import kind whose
# canonical columns the drill-down list exports so the city can fix and re-import it)
RULES = {
    "SITE_NO_COORDS": ("站址缺经纬度", "Sites without coordinates", "sites", "sites"),
    "ACCOUNT_NO_SITE": ("户号未关联站址", "Accounts with no site", "accounts", "accounts"),
    "SPLIT_NOT_100": ("户号分摊比例合计不为100%", "Account splits not summing to 100 %",
                      "accounts", "accounts"),
    "TENANCY_OVERLAP": ("同站同运营商租户服务重叠", "Overlapping tenancies of one operator on "
                        "a site", "tenancies", "tenancies"),
    "ACTIVE_ON_ARCHIVED": ("已归档站址仍有在网租户服务", "Active tenancies on archived sites",
                           "tenancies", "tenancies"),
    "SILENT_ACCOUNT": ("户号3个月无缴费单", "Accounts with no bill in 3 months", "accounts",
                       "accounts"),
    "DUP_ACCOUNT_NO": ("户号重复（规范化后）", "Duplicate account numbers (normalised)",
                       "accounts", "accounts"),
    "PRICE_DEVIATION": ("单价偏离该户号历史", "Unit price off the account's history", "bills",
                        "bills"),
    "RENT_NO_CONTRACT": ("付场租但无场租合同", "Rent paid with no landlord contract",
                         "rent_sites", "sites"),
    "LINE_ON_ARCHIVED": ("已归档站址拆站日后仍有明细", "Lines for archived sites after their "
                         "decommission date", "archived_lines", "lines"),
}
DENOMINATORS = {
    "sites": ("站址", "sites"), "accounts": ("户号", "accounts"),
    "tenancies": ("租户服务", "tenancies"), "bills": ("本月缴费单", "bills of the month"),
    "rent_sites": ("付场租站址", "sites paying rent"),
    "archived_lines": ("已归档站址的明细", "lines of archived sites"),
}

SPLIT_TOLERANCE = Decimal("0.01")   # percentage points: a sum within 100 ± this is 100
SILENT_MONTHS = 3
PRICE_PCT = Decimal(30)             # deviation from the median that is a finding
PRICE_WINDOW = 6                    # the last bills the median is taken over
PRICE_MIN_HISTORY = 3               # fewer earlier bills: no judgement


def normalise_no(value: str) -> str:
    """An account or meter number as people mean it: full-width folded (NFKC: 'Ａ－１' is
    'A-1'), spaces trimmed and removed, case folded."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(text.split()).upper()


def duplicate_groups(items: Iterable[tuple[Hashable, str]]) -> dict[str, list]:
    """``(key, number)`` → {normalised number: keys} for the numbers held by more than one."""
    groups = defaultdict(list)
    for key, number in items:
        groups[normalise_no(number)].append(key)
    return {n: keys for n, keys in groups.items() if len(keys) > 1}


def splits_off(splits: Iterable[tuple[Hashable, Decimal]]) -> dict[Hashable, Decimal]:
    """``(account, split_ratio)`` rows → {account: sum} for accounts not summing to 100."""
    sums = defaultdict(Decimal)
    for account, ratio in splits:
        sums[account] += ratio
    return {a: s for a, s in sums.items() if abs(s - 100) > SPLIT_TOLERANCE}


def overlapping(tenancies: Iterable[tuple[Hashable, Hashable, Hashable, date, date | None]]
                ) -> set:
    """``(key, site, operator, start, end or None)`` → keys of the tenancies whose days
    overlap another of the same operator on the same site (both ends inclusive)."""
    by = defaultdict(list)
    for key, site, operator, start, end in tenancies:
        by[site, operator].append((start, date.max if end is None else end, key))
    found = set()
    for rows in by.values():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda r: (r[0], r[1], str(r[2])))
        reach_end, reach_key = rows[0][1], rows[0][2]
        for start, end, key in rows[1:]:
            if start <= reach_end:
                found.update((key, reach_key))
            if end > reach_end:
                reach_end, reach_key = end, key
    return found


def months_back(day: date, months: int) -> date:
    """The same day ``months`` earlier (clamped to the month's last day)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def silent(last_period_end: date | None, as_of: date, cycle_months: int = 1,
           months: int = SILENT_MONTHS) -> bool:
    """No bill covering any day of the last ``months`` (or the account's payment cycle if
    longer) before ``as_of``."""
    cutoff = months_back(as_of, max(months, cycle_months or 1))
    return last_period_end is None or last_period_end <= cutoff


def price_deviation(price: Decimal, history: list[Decimal], pct: Decimal = PRICE_PCT,
                    window: int = PRICE_WINDOW, min_history: int = PRICE_MIN_HISTORY
                    ) -> Decimal | None:
    """The deviation (%, 1 place) of ``price`` from the median of the last ``window`` prices
    of ``history`` (oldest first) when it exceeds ``pct``; None otherwise or with fewer than
    ``min_history`` earlier prices."""
    last = [p for p in history if p is not None][-window:]
    if price is None or len(last) < min_history:
        return None
    median = Decimal(statistics.median(last))
    if median <= 0:
        return None
    dev = (abs(price - median) / median * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return dev if dev > pct else None


def rate(count: int, total: int) -> Decimal:
    """count ÷ total in %, 2 places (0 with nothing judged)."""
    if not total:
        return Decimal("0.00")
    return (Decimal(count) * 100 / Decimal(total)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Score:
    rule: str
    count: int
    total: int

    @property
    def rate(self) -> Decimal:
        return rate(self.count, self.total)

    @property
    def label(self) -> tuple[str, str]:
        return RULES[self.rule][:2]


def scorecard(problems: dict[str, set], totals: dict[str, int]) -> list[Score]:
    """One unit's (county, city, province) scores: each rule's distinct problem records over
    the records its denominator counts. A count above its total (an account counted in a
    county it does not belong to) cannot happen: the total is taken at least as the count."""
    out = []
    for rule, (_, _, denominator, _) in RULES.items():
        count = len(problems.get(rule, ()))
        out.append(Score(rule, count, max(totals.get(denominator, 0), count)))
    return out
