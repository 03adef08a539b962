"""The demo's year, replayed month by month through the real services, so the dashboard
tells a story (DOMAIN §6): the platform is adopted at the start of the year and

* allocation moves from a few days after payment to the same day (T+0 rises);
* operators answer more of their lines themselves instead of letting them be deemed;
* operators pay more of what they owe, and pay back arrears (欠费率 falls);
* a few lines are disputed each month and answered (one of each outcome);
* the theft-like sites injected by the generator stand out in the audit flags.

Each month: import its bills (paid as the file says), allocate and push them after the
month's lag, let the operators confirm part of their lines, run the deadlines as of the
month's end, issue the statements, receive and match the operators' payments, and close
the month. Dates are the replayed dates, so the books and the snapshots are those of a
real year. Deterministic for a seed.
"""

import csv
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

RECEIPT_LAG_DAYS = 20     # operators pay a month's statements about 20 days after it ends

FEN = Decimal("0.01")


def _progress_share(i: int, n: int) -> float:
    """0 at the first month, 1 at the last."""
    return i / max(1, n - 1)


def replay(written, user=None, seed: int = 1, today: date | None = None, progress=None):
    """Import the months of ``written`` (synth.files.Written) as a year of operations."""
    from towerledger.analysis.close import CloseError, close_month
    from towerledger.bills.models import Bill
    from towerledger.collection.models import MatchSetting
    from towerledger.domain.months import month_end
    from towerledger.exchange.services import run_import
    from towerledger.org.models import Province
    from towerledger.settlement.allocate import allocate_bills
    from towerledger.settlement.models import Line
    from towerledger.settlement.services import confirm_lines, run_deadlines

    rng = random.Random(seed)
    today = today or timezone.localdate()
    was = getattr(settings, "TOWERLEDGER_ALLOCATE_ON_PAY", True)
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False   # the replay pushes on its own calendar
    for p in Province.objects.all():
        MatchSetting.objects.get_or_create(province=p, defaults={"oldest_first": True})
    from towerledger.synth import programs

    n = len(written.months)
    try:
        if written.months:
            programs.begin(user, rng, _month_of(written.months[0]["bills"]), today)
        for i, files in enumerate(written.months):
            share = _progress_share(i, n)
            for kind in ("submeter", "smartmeter"):
                if kind in files:
                    run_import(kind, files[kind], user, reason="演示数据 demo data")
            before = set(Bill.objects.filter(status=Bill.Status.PAID)
                         .values_list("pk", flat=True))
            result = run_import("bills", files["bills"], user, reason="演示数据 demo data")
            if not result.stored:
                raise RuntimeError(f"demo bills did not import: {result.errors[:3]}")
            month = _month_of(files["bills"])
            end = month_end(month)
            paid = Bill.objects.filter(status=Bill.Status.PAID).exclude(pk__in=before) \
                .values_list("pk", "paid_date")
            by_push = defaultdict(list)
            for pk, paid_date in paid:
                lag = 0 if rng.random() < 0.25 + 0.75 * share else rng.randint(1, 6)
                by_push[min(paid_date + timedelta(days=lag), today)].append(pk)
            for day, ids in sorted(by_push.items()):
                allocate_bills(ids, user, today=day)
            _operators_answer(rng, share, month, end, today, confirm_lines, Line)
            _disputes(rng, i, month, today)
            programs.month(user, rng, month, today)
            as_of = min(end + timedelta(days=1), today)
            run_deadlines(as_of)
            if end < today:
                _statements_and_receipts(rng, share, month, end, today, written.out, user)
                # the province closes the month once its statements' receipts are in (they
                # come about three weeks after month end): the snapshot's flows — confirmed,
                # written off — are as of that day, its stocks as of the month's last day
                close_on = min(end + timedelta(days=RECEIPT_LAG_DAYS + 1), today)
                try:
                    close_month(month, user, as_of=close_on)
                except CloseError:
                    pass   # the last, unfinished month stays open
            if progress:
                progress(month)
        programs.end(user, rng, today)
    finally:
        settings.TOWERLEDGER_ALLOCATE_ON_PAY = was


def _month_of(path: Path) -> date:
    y, m = path.stem.split("-")[-2:]
    return date(int(y), int(m), 1)


def _operators_answer(rng, share, month, end, today, confirm_lines, Line):
    """Operators confirm a growing part of the month's lines themselves, a few days after
    the push; the rest waits for the deadline."""
    pending = list(Line.objects.pending().filter(push_date__lte=end, push_date__gte=month)
                   .values_list("pk", "push_date"))
    by_day = defaultdict(list)
    for pk, pushed in pending:
        if rng.random() < 0.3 + 0.6 * share:
            by_day[min(pushed + timedelta(days=rng.randint(1, 7)), today)].append(pk)
    for day, ids in sorted(by_day.items()):
        at = timezone.make_aware(datetime.combine(day, time(10)))
        confirm_lines(ids, None, today=day, reason="演示：运营商确认 demo", at=min(at,
                                                                              timezone.now()))


def _moment(day, hour: int):
    """``day`` at ``hour`` local time, never later than now (the replay ends today)."""
    return min(timezone.make_aware(datetime.combine(day, time(hour))), timezone.now())


def _disputes(rng, i, month, today):
    """Two disputes a month, answered by the province: accepted, partly, rejected."""
    from django.contrib.auth import get_user_model

    from towerledger.access.models import Profile, Role
    from towerledger.org.models import Operator
    from towerledger.settlement.models import Line
    from towerledger.settlement.services import SettlementError, answer_dispute, dispute_line

    admin = get_user_model().objects.filter(profile__role=Role.PROVINCE_ADMIN).first()
    if admin is None:
        return
    lines = list(Line.objects.pending().filter(push_date__gte=month, receivable__gt=100)
                 .order_by("pk")[:400])
    rng.shuffle(lines)
    for k, line in enumerate(lines[:2]):
        op = Operator.objects.get(pk=line.operator_id)
        user, _ = get_user_model().objects.get_or_create(username=f"demo-{op.code.lower()}-api")
        Profile.objects.get_or_create(user=user, defaults={"role": Role.OPERATOR,
                                                           "operator": op})
        try:
            raised = min(line.push_date + timedelta(days=2), today)
            d = dispute_line(line.pk, user, ["KWH", "RATIO"][k], "演示：读数与我方记录不符",
                             today=raised, at=_moment(raised, 9))
            outcome = ["ACCEPT", "PARTIAL", "REJECT"][(i + k) % 3]
            amount = (line.receivable * Decimal("0.8")).quantize(FEN)
            answered = min(line.push_date + timedelta(days=6), today)
            answer_dispute(d.pk, admin, outcome, "演示：已核实 verified",
                           new_amount=amount if outcome == "PARTIAL" else None,
                           today=answered, at=_moment(answered, 16))
        except SettlementError:
            continue


def _statements_and_receipts(rng, share, month, end, today, out: Path, user):
    """Issue the month's statements; each operator pays part of them (more as the year
    goes) with the statement number in the reference, and some of its arrears."""
    from towerledger.collection.services import issue_statements
    from towerledger.exchange.services import run_import
    from towerledger.settlement.models import Line

    issue_statements(month, user)
    paid_on = min(end + timedelta(days=RECEIPT_LAG_DAYS), today - timedelta(days=1))
    rows = []
    from towerledger.collection.models import Statement

    for st in Statement.objects.filter(month=month, status=Statement.Status.ISSUED) \
            .select_related("operator", "city"):
        part = Decimal(str(min(1.0, 0.45 + 0.55 * share + rng.uniform(-0.05, 0.05))))
        amount = (st.receivable * part).quantize(FEN)
        if amount > 0:
            rows.append([f"HK{month:%Y%m}{len(rows):05d}", st.operator.code,
                         st.city.name if st.city else "", amount, paid_on,
                         f"{st.operator.code} 电费 {st.number}"])
    # catching up: from mid-year, a payment towards the oldest arrears per operator and city
    if share > 0.4:
        open_by = Line.objects.open().filter(push_date__lt=month).values(
            "operator__code", "city__name").annotate(left=Sum(F("receivable") -
                                                              F("written_off")))
        for r in open_by:
            amount = (Decimal(str(r["left"])) * Decimal(str(0.3 * share))).quantize(FEN)
            if amount > 0:
                rows.append([f"HK{month:%Y%m}{len(rows):05d}", r["operator__code"],
                             r["city__name"], amount, paid_on, "补缴欠费 arrears"])
    path = out / f"receipts-{month:%Y-%m}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["receipt_no", "operator", "city", "amount", "received_date", "reference"])
        w.writerows(rows)
    if rows:
        result = run_import("receipts", path, user, reason="演示数据 demo data")
        if not result.stored:
            raise RuntimeError(f"demo receipts did not import: {result.errors[:3]}")
