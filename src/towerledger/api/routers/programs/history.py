"""Read endpoints of the history program (历史数据), scoped like every other.

* ``GET /v1/history/reconciliation`` the take-over reconciliation: legacy totals by city
  and operator against what was imported, the differences to the fen, the grand total, and
  (province admins and viewers) the journal's OPENING balance against it. City clerks see
  their city's groups, operator users their own operator's.
* ``GET /v1/history/drive?as_of=YYYY-MM-DD`` the collection drive: outstanding by city,
  operator, legacy or current and ageing bucket, and each visible city target with its
  progress (operators see their own arrears and no targets).
"""

from datetime import date
from decimal import Decimal

from django.utils import timezone
from ninja import Query, Router, Schema

from towerledger.api.params import Day
from towerledger.programs.history import services

PREFIX = "/v1/history"
router = Router(tags=["history"])


class FiguresOut(Schema):
    pushed: Decimal
    confirmed: Decimal
    written_off: Decimal
    outstanding: Decimal
    unapplied: Decimal
    rows: int


class TieOut(Schema):
    city: str
    operator: str
    legacy: FiguresOut
    imported: FiguresOut
    difference: dict[str, Decimal]
    ties: bool


class JournalOut(Schema):
    opening_credit: Decimal
    expected: Decimal
    ties: bool


class ReconciliationOut(Schema):
    ties: bool
    groups: list[TieOut]
    total: TieOut
    journal: JournalOut | None = None


def _figures(t) -> dict:
    return {**t.figures(), "rows": t.rows}


def _tie(t, city: str, operator: str) -> dict:
    return {"city": city, "operator": operator, "legacy": _figures(t.legacy),
            "imported": _figures(t.imported), "difference": t.differences, "ties": t.ties}


@router.get("/reconciliation", response=ReconciliationOut,
            summary="The take-over reconciliation (历史数据接管对账)")
def reconciliation(request):
    ties, grand, journal = services.reconciliation(request.auth_user)
    return {"ties": bool(ties) and grand.ties and all(t.ties for t in ties)
            and journal.get("ties", True),
            "groups": [_tie(t, *t.key) for t in ties], "total": _tie(grand, "*", "*"),
            "journal": journal or None}


class DriveFilters(Schema):
    as_of: Day | None = None


class ArrearsOut(Schema):
    city: str
    operator: str
    legacy: bool
    chains: int
    buckets: dict[str, Decimal]
    outstanding: Decimal


class TargetOut(Schema):
    city: str
    baseline_date: date
    target_date: date
    target_amount: Decimal | None
    target_rate: Decimal | None
    as_of: date
    baseline_arrears: Decimal
    left: Decimal
    collected: Decimal
    goal: Decimal
    progress: Decimal | None
    to_go: Decimal
    met: bool
    note: str


class DriveOut(Schema):
    as_of: date
    arrears: list[ArrearsOut]
    targets: list[TargetOut]


@router.get("/drive", response=DriveOut, summary="Collection drive (回收攻坚): arrears and "
                                                  "targets' progress")
def drive(request, filters: Query[DriveFilters]):
    as_of = filters.as_of or timezone.localdate()
    user = request.auth_user
    return {"as_of": as_of,
            "arrears": [{"city": r["city"], "operator": r["operator"], "legacy": r["legacy"],
                         "chains": r["chains"], "buckets": r["buckets"],
                         "outstanding": r["total"]} for r in services.arrears(user, as_of)],
            "targets": [{"city": p["target"].city.name,
                         "baseline_date": p["target"].baseline_date,
                         "target_date": p["target"].target_date,
                         "target_amount": p["target"].target_amount,
                         "target_rate": p["target"].target_rate, "as_of": p["as_of"],
                         "baseline_arrears": p["progress"].baseline,
                         "left": p["progress"].left, "collected": p["progress"].collected,
                         "goal": p["progress"].goal, "progress": p["progress"].rate,
                         "to_go": p["progress"].to_go, "met": p["met"],
                         "note": p["target"].note}
                        for p in services.drive_progress(user, as_of)]}
