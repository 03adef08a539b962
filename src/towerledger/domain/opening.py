"""Opening balances (历史数据, DOMAIN.md §7): the rules of a legacy ledger taken over.

A legacy ledger row is one site's, one operator's and one month's figures in the system
the province used before: what was pushed (推送), confirmed (确认), written off (核销) and is
still outstanding (欠费), with the original push, confirm and write-off dates. Pure Python,
no Django:

* ``check_row``: every problem of one row at once, as (column, 中文, English);
* ``parts``: the lines a row becomes — its confirmed part (confirmed on the legacy date,
  written off by the legacy write-offs) and its unconfirmed part (still pending);
* ``parse_month``: the month column as users write it (2023-03, 2023/3, 2023年3月, 202303);
* ``Totals`` and ``compare``: the take-over reconciliation (legacy against imported, to the
  fen);
* ``progress``: a collection drive's progress (回收攻坚) against its target.
"""

import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from towerledger.domain.money import fen

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LegacyRow:
    """The figures of one legacy ledger row (yuan, 2 places) and its original dates."""

    month: date
    pushed: Decimal
    confirmed: Decimal
    written_off: Decimal
    outstanding: Decimal
    push_date: date
    confirm_date: date | None = None
    write_off_date: date | None = None


Problem = tuple[str, str, str]   # (column, 中文, English)


def check_row(r: LegacyRow, take_over: date) -> list[Problem]:
    """Every problem of ``r`` taken over on ``take_over`` (dates may not be later)."""
    out: list[Problem] = []
    if r.pushed <= 0:
        out.append(("pushed", "推送金额应大于 0", "pushed must be greater than 0"))
    if r.pushed != r.written_off + r.outstanding:
        out.append(("outstanding",
                    f"推送 {r.pushed} ≠ 已核销 {r.written_off} + 欠费 {r.outstanding}",
                    f"pushed {r.pushed} ≠ written off {r.written_off} + outstanding "
                    f"{r.outstanding}"))
    if r.confirmed > r.pushed:
        out.append(("confirmed", f"确认金额 {r.confirmed} 超过推送金额 {r.pushed}",
                    f"confirmed {r.confirmed} exceeds pushed {r.pushed}"))
    if r.written_off > r.confirmed:
        out.append(("written_off", f"已核销 {r.written_off} 超过已确认 {r.confirmed}（只有已确认的可核销）",
                    f"written off {r.written_off} exceeds confirmed {r.confirmed} (only "
                    "confirmed amounts are written off)"))
    if r.confirmed > 0 and r.confirm_date is None:
        out.append(("confirm_date", "有确认金额但缺确认日期",
                    "a confirmed amount needs its confirm date"))
    if r.written_off > 0 and r.write_off_date is None:
        out.append(("write_off_date", "有核销金额但缺核销日期",
                    "a written-off amount needs its write-off date"))
    if r.confirmed == 0 and r.confirm_date is not None:
        out.append(("confirm_date", "确认金额为 0 却有确认日期",
                    "a confirm date without a confirmed amount"))
    if r.written_off == 0 and r.write_off_date is not None:
        out.append(("write_off_date", "核销金额为 0 却有核销日期",
                    "a write-off date without a written-off amount"))
    if r.push_date < r.month:
        out.append(("push_date", f"推送日期 {r.push_date} 早于账期 {r.month:%Y-%m}",
                    f"push date {r.push_date} is before the month {r.month:%Y-%m}"))
    for column, day, after, zh, en in (
            ("confirm_date", r.confirm_date, r.push_date, "推送日期", "push date"),
            ("write_off_date", r.write_off_date, r.confirm_date or r.push_date, "确认日期",
             "confirm date")):
        if day is not None and after is not None and day < after:
            out.append((column, f"{day} 早于{zh} {after}", f"{day} is before the {en} {after}"))
    for column in ("push_date", "confirm_date", "write_off_date"):
        day = getattr(r, column)
        if day is not None and day > take_over:
            out.append((column, f"{day} 晚于接管日 {take_over}",
                        f"{day} is after the take-over day {take_over}"))
    return out


@dataclass(frozen=True)
class Part:
    """One line a legacy row becomes: ``amount`` pushed on the row's push date, confirmed
    on ``confirmed_on`` (None: still pending), of which ``written_off`` was written off on
    the row's write-off date."""

    amount: Decimal
    confirmed_on: date | None
    written_off: Decimal


def parts(r: LegacyRow) -> list[Part]:
    """The confirmed part (if any) first, then the unconfirmed part (if any); they sum to
    ``pushed`` and the write-offs all fall on the confirmed part. ``r`` must pass
    ``check_row``."""
    out = []
    if r.confirmed:
        out.append(Part(r.confirmed, r.confirm_date, r.written_off))
    if r.pushed - r.confirmed:
        out.append(Part(r.pushed - r.confirmed, None, ZERO))
    return out


_MONTH = re.compile(r"^\s*(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))"
                    r"(?:\s*[-/.]\s*\d{1,2}\s*日?)?\s*$")


def parse_month(value) -> date:
    """The first day of the month ``value`` names: a date, 2023-03, 2023/3, 2023.03,
    2023年3月, 202303 or 2023-03-01. ``ValueError`` otherwise."""
    if isinstance(value, datetime):
        return value.date().replace(day=1)
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():   # 202303.0 from a spreadsheet
        text = text[:-2]
    m = _MONTH.match(text)
    if not m:
        raise ValueError(text)
    year, month = int(m.group(1)), int(m.group(2) or m.group(3))
    if not 1 <= month <= 12 or year < 1990:
        raise ValueError(text)
    return date(year, month, 1)


@dataclass
class Totals:
    """Legacy or imported totals of one group (city, operator)."""

    pushed: Decimal = ZERO
    confirmed: Decimal = ZERO
    written_off: Decimal = ZERO
    outstanding: Decimal = ZERO
    unapplied: Decimal = ZERO
    rows: int = 0

    def add(self, **figures) -> "Totals":
        for name, value in figures.items():
            setattr(self, name, getattr(self, name) + (value if name == "rows" else
                                                       fen(value or 0)))
        return self

    def figures(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rows"}


FIGURES = ("pushed", "confirmed", "written_off", "outstanding", "unapplied")


@dataclass(frozen=True)
class Tie:
    """One group of the reconciliation: the legacy totals, what was imported, the
    differences (imported − legacy) and whether every figure ties to the fen."""

    key: tuple
    legacy: Totals
    imported: Totals

    @property
    def differences(self) -> dict:
        return {n: getattr(self.imported, n) - getattr(self.legacy, n) for n in FIGURES}

    @property
    def ties(self) -> bool:
        return not any(self.differences.values())


def compare(legacy: dict[tuple, Totals], imported: dict[tuple, Totals]) -> list[Tie]:
    """Every group of either side, sorted by key, legacy against imported."""
    return [Tie(k, legacy.get(k, Totals()), imported.get(k, Totals()))
            for k in sorted(set(legacy) | set(imported), key=lambda k: tuple(map(str, k)))]


def total(ties: list[Tie]) -> Tie:
    """The grand total of a reconciliation."""
    legacy, imported = Totals(), Totals()
    for t in ties:
        legacy.add(rows=t.legacy.rows, **t.legacy.figures())
        imported.add(rows=t.imported.rows, **t.imported.figures())
    return Tie(("*",), legacy, imported)


@dataclass(frozen=True)
class Progress:
    """A collection drive's progress: the arrears it started from, what is left of them,
    what was collected, the goal (an amount to collect) and collected ÷ goal."""

    baseline: Decimal
    left: Decimal
    goal: Decimal

    @property
    def collected(self) -> Decimal:
        return self.baseline - self.left

    @property
    def rate(self) -> Decimal | None:
        return (self.collected / self.goal).quantize(Decimal("0.0001")) if self.goal else None

    @property
    def to_go(self) -> Decimal:
        return max(self.goal - self.collected, ZERO)


def progress(baseline: Decimal, left: Decimal, target_amount: Decimal | None = None,
             target_rate: Decimal | None = None) -> Progress:
    """Progress of a drive that started with ``baseline`` arrears, of which ``left`` are
    still owed. The goal: ``target_amount`` to collect, or ``target_rate`` (0..1) of the
    baseline (to the fen, half up)."""
    if target_amount is not None:
        goal = fen(target_amount)
    elif target_rate is not None:
        goal = fen(baseline * target_rate)
    else:
        goal = ZERO
    return Progress(fen(baseline), fen(left), goal)
