"""Issue 11's proof: random months replayed through the product's services — payments
pushed T+0 or late, lump sums, confirmations, deemed confirmations, disputes of every
outcome (and escalations), statements, partial, over- and late receipts, manual matches
and unmatches — and the product's ``kpi.compute`` equals the independent reference
(tests/reference/kpi_reference.py) at every scope, figure by figure.

The scenario is drawn as data (bills and a list of dated events) and then applied, so a
failure shrinks to a short, readable story. Each example runs in a savepoint that is
rolled back; the province's master data is imported once per test.

TOWERLEDGER_KPI_EXAMPLES sets the number of scenarios (25 on SQLite, 10 on PostgreSQL);
TOWERLEDGER_KPI_SHRINK=1 shrinks a failure to its shortest story (slow: minutes).
"""

import os
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, example, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.reference import kpi_reference as ref
from tests.reference.builders import (
    BILL_HEADER,
    RECEIPT_HEADER,
    at,
    import_file,
    import_master,
    staff_and_operators,
)
from towerledger.bills import services as bill_services
from towerledger.bills.models import Bill
from towerledger.collection import services as collection
from towerledger.collection.models import MatchSetting, Receipt, Statement
from towerledger.org.models import Province
from towerledger.settlement import services as settlement
from towerledger.settlement.allocate import allocate_bills
from towerledger.settlement.models import Dispute, Line

# ---- the province: 2 cities, 4 counties, 5 sites, 3 operators, two lump-sum tenancies ----

SITES = [
    ["ZZ001", "金水一号", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
    ["ZZ002", "二七一号", "河南省", "郑州市", "二七区", "MACRO", "", "", "", "", ""],
    ["ZZ003", "二七微站", "河南省", "郑州市", "二七区", "SMALL", "", "", "", "", ""],
    ["LY001", "西工一号", "河南省", "洛阳市", "西工区", "MACRO", "", "", "", "", ""],
    ["LY002", "涧西一号", "河南省", "洛阳市", "涧西区", "MACRO", "", "", "", "", ""],
]
TENANCIES = [
    ["T-ZZ001-CMCC", "ZZ001", "CMCC", "2024-01-01", "", "RESALE", "", "", "40", ""],
    ["T-ZZ001-CUCC", "ZZ001", "CUCC", "2024-01-01", "", "RESALE", "", "", "25", ""],
    ["T-ZZ001-CTCC", "ZZ001", "CTCC", "2024-01-01", "", "LUMP_SUM", "500", "", "15", ""],
    ["T-ZZ002-CMCC", "ZZ002", "CMCC", "2023-06-01", "", "ON_BEHALF", "", "", "", "60"],
    ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "", "RESALE", "", "", "", "40"],
    ["T-ZZ003-CUCC", "ZZ003", "CUCC", "2024-04-10", "", "RESALE", "", "", "", ""],
    ["T-LY001-CUCC", "LY001", "CUCC", "2022-01-01", "", "RESALE", "", "", "", ""],
    ["T-LY001-CTCC", "LY001", "CTCC", "2022-01-01", "2024-05-20", "RESALE", "", "", "", ""],
    ["T-LY002-CMCC", "LY002", "CMCC", "2024-04-15", "", "LUMP_SUM", "300", "", "", ""],
    ["T-LY002-CUCC", "LY002", "CUCC", "2022-01-01", "", "RESALE", "", "", "", ""],
]
RULES = [
    ["ZZ001", "2024-01-01", "DC_CURRENT", "EQUAL", "PRO_RATA", "0"],
    ["ZZ002", "2023-06-01", "FIXED_RATIO", "EQUAL", "PRO_RATA", "0"],
    ["ZZ003", "2024-01-01", "EQUAL", "", "", "0"],
    ["LY001", "2022-01-01", "EQUAL", "", "", "5"],
    ["LY002", "2022-01-01", "EQUAL", "", "", "0"],
]
ACCOUNTS = [
    ["A-1", "RESUPPLY", "LANDLORD", "张三", "GENERAL", "1.10", "", "1", "1", "ZZ001", "100"],
    ["A-2", "DIRECT", "GRID", "郑州供电", "SPECIAL_13", "0.62", "", "1", "1", "ZZ002", "70"],
    ["A-2", "DIRECT", "GRID", "郑州供电", "SPECIAL_13", "0.62", "", "1", "1", "ZZ003", "30"],
    ["A-3", "RESUPPLY", "PROPERTY", "物业", "SPECIAL_3", "1.20", "", "1", "1", "LY001", "100"],
    ["A-4", "RESUPPLY", "LANDLORD", "李四", "GENERAL", "1.00", "", "1", "1", "LY002", "100"],
]
PRICE = {"A-1": Decimal("1.10"), "A-2": Decimal("0.62"), "A-3": Decimal("1.20"),
         "A-4": Decimal("1.00")}
OPERATORS = ("CMCC", "CUCC", "CTCC")
CITIES = ("郑州市", "洛阳市")

START, END = date(2024, 4, 1), date(2024, 6, 30)          # the months replayed
MONTHS = (date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1))
PERIODS = (date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1))  # bills' months

COMPARED = ("chains", "chains_amount", "confirmed_amount", "deemed_amount",
            "written_off_amount", "outstanding", "age_0_30", "age_31_60", "age_61_90",
            "age_91_180", "age_181_365", "age_gt_365", "arrears_base", "t0_lines", "t0_base",
            "receipts_amount", "receipts_applied", "year_receivable", "year_written_off")

POSTGRES = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]
EXAMPLES = int(os.environ.get("TOWERLEDGER_KPI_EXAMPLES", 10 if POSTGRES else 25))
# Shrinking a failure to its shortest story replays hundreds of scenarios (minutes on a
# shared machine); without it the failing scenario is reported whole, every step noted.
SHRINK = os.environ.get("TOWERLEDGER_KPI_SHRINK", "0") == "1"
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if SHRINK else [])]


# ---- the scenario, as data ----------------------------------------------------------------

def month_end(first: date) -> date:
    return ref.month_bounds(first)[1]


class BillSpec(NamedTuple):
    account: str
    period: date          # first day of the bill's month (its period is that month)
    kwh: int
    paid: date
    push_lag: int | None  # days from payment to allocation and push; None: never pushed


class Lump(NamedTuple):           # the month's lump sums, pushed on ``day``
    day: date
    previous_month: bool


class Confirm(NamedTuple):        # the operator confirms ``count`` pending lines
    day: date
    pick: int
    count: int


class Dispute_(NamedTuple):       # the operator disputes a pending line; the tower answers
    day: date
    pick: int
    outcome: str | None           # ACCEPT, PARTIAL, REJECT; None: never answered
    answer_after: int             # days from the dispute to the answer
    percent: int                  # PARTIAL: the new amount, in % of the line
    escalate: str | None          # after a REJECT: disputed again (escalated) and so answered


class Deadlines(NamedTuple):      # the daily job: deemed confirmations, overdue disputes
    day: date


class Statements(NamedTuple):
    day: date
    previous_month: bool


class Receive(NamedTuple):        # a receipt imported on ``day`` (matched on import)
    day: date
    operator: str
    city: str
    amount: Decimal
    dated_back: int               # received_date = day - dated_back
    names_statement: bool
    unmatch_after: int | None     # days after which its first live write-off is undone


class Match(NamedTuple):          # `towerledger match`
    day: date


class ManualMatch(NamedTuple):
    day: date
    receipt: int
    line: int


class Unmatch(NamedTuple):        # 反核销 of any live write-off (reversed_at: the real now)
    day: date
    pick: int


class Report(NamedTuple):
    month: int                    # index in MONTHS
    when: str                     # end, after (E + days), next (a day of the next month), today
    days: int


days = st.dates(START, END)
picks = st.integers(0, 50)


@st.composite
def bill_specs(draw):
    period = draw(st.sampled_from(PERIODS))
    paid = draw(st.dates(ref.month_bounds(period)[1] + timedelta(days=1), END))
    return BillSpec(draw(st.sampled_from(sorted(PRICE))), period, draw(st.integers(200, 3000)),
                    paid, draw(st.sampled_from([0, 0, 1, 4, None])))


outcomes = st.sampled_from(["PARTIAL", "REJECT", "ACCEPT", None])
confirms = st.builds(Confirm, days, picks, st.integers(1, 4))
disputes = st.builds(Dispute_, days, picks, outcomes, st.integers(0, 12), st.integers(1, 99),
                     outcomes)
receipts = st.builds(Receive, days, st.sampled_from(OPERATORS), st.sampled_from(CITIES),
                     st.decimals(1, 3000, places=2), st.integers(0, 3), st.booleans(),
                     st.none() | st.integers(0, 20))
events = st.one_of(   # the day-to-day ones drawn more often
    confirms, disputes, receipts, confirms, disputes, receipts,
    st.builds(Deadlines, days),
    st.builds(Lump, days, st.booleans()),
    st.builds(Statements, days, st.booleans()),
    st.builds(Match, days),
    st.builds(ManualMatch, days, picks, picks),
    st.builds(Unmatch, days, picks),
)

reports = st.builds(Report, st.integers(0, 2), st.sampled_from(["end", "after", "next", "today"]),
                    st.integers(1, 28))


class Scenario(NamedTuple):
    bills: list
    events: list
    reports: list


scenarios = st.builds(
    Scenario,
    st.lists(bill_specs(), min_size=2, max_size=8,
             unique_by=lambda b: (b.account, b.period)),
    st.lists(events, min_size=8, max_size=30),
    st.lists(reports, min_size=1, max_size=3))


D = Decimal
# One scenario with every kind of event, always run first (hypothesis' explicit example)
EVERY_KIND = Scenario(
    bills=[BillSpec("A-1", date(2024, 3, 1), 1500, date(2024, 4, 3), 0),
           BillSpec("A-2", date(2024, 3, 1), 2000, date(2024, 4, 10), 2),     # T+0 missed
           BillSpec("A-3", date(2024, 4, 1), 1200, date(2024, 5, 6), 0),
           BillSpec("A-4", date(2024, 4, 1), 900, date(2024, 5, 31), None),   # never pushed
           BillSpec("A-1", date(2024, 4, 1), 1400, date(2024, 5, 15), 0),
           BillSpec("A-2", date(2024, 5, 1), 1800, date(2024, 6, 4), 0)],
    events=[Confirm(date(2024, 4, 5), 0, 1),
            Dispute_(date(2024, 4, 6), 1, "REJECT", 3, 50, "PARTIAL"),        # escalated
            Dispute_(date(2024, 4, 13), 2, "ACCEPT", 2, 50, None),
            Dispute_(date(2024, 4, 14), 0, "PARTIAL", 5, 60, None),
            Dispute_(date(2024, 4, 20), 0, None, 0, 50, None),                # stays open
            Receive(date(2024, 4, 28), "CMCC", "郑州市", D("300.00"), 0, False, 10),
            Lump(date(2024, 4, 30), False),
            Receive(date(2024, 5, 2), "CUCC", "郑州市", D("5000.00"), 2, False, None),
            Deadlines(date(2024, 5, 2)),
            Statements(date(2024, 5, 3), True),
            Receive(date(2024, 5, 8), "CTCC", "郑州市", D("100.00"), 0, True, None),
            Confirm(date(2024, 5, 10), 0, 4),
            Lump(date(2024, 6, 1), True),
            Receive(date(2024, 6, 2), "CMCC", "洛阳市", D("250.00"), 0, False, None),
            Deadlines(date(2024, 6, 5)),
            Match(date(2024, 6, 20)),
            ManualMatch(date(2024, 6, 21), 0, 0),
            Unmatch(date(2024, 6, 22), 0),
            Deadlines(date(2024, 6, 30))],
    reports=[Report(1, "end", 1), Report(1, "next", 15), Report(0, "today", 1),
             Report(2, "after", 3)])


# ---- applying it through the services ---------------------------------------------------

class Pay(NamedTuple):
    day: date
    bill: BillSpec


class Push(NamedTuple):
    day: date
    bill: BillSpec


def bill_no(b: BillSpec) -> str:
    return f"{b.account}-{b.period:%Y%m}"


class Raise(NamedTuple):          # a dispute of a pending line, or of the adjustment
    day: date                     # that answered the dispute tagged ``of``
    tag: str
    pick: int
    of: str | None


class Answer(NamedTuple):
    day: date
    tag: str
    outcome: str
    percent: int


class Take(NamedTuple):           # a drawn receipt, imported under its number
    day: date
    receipt_no: str
    receipt: Receive


class Undo(NamedTuple):           # 反核销 of the receipt's first live write-off
    day: date
    receipt_no: str


def timeline(scenario: Scenario) -> list:
    """Every action in day order: payments, then pushes, then the events as drawn (a
    dispute's answer and second round on their own days)."""
    actions = [Pay(b.paid, b) for b in scenario.bills]
    actions += [Push(b.paid + timedelta(days=b.push_lag), b) for b in scenario.bills
                if b.push_lag is not None]
    for i, e in enumerate(scenario.events):
        if isinstance(e, Receive):
            actions.append(Take(e.day, f"HK{i:04d}", e))
            if e.unmatch_after is not None:
                actions.append(Undo(e.day + timedelta(days=e.unmatch_after), f"HK{i:04d}"))
            continue
        if not isinstance(e, Dispute_):
            actions.append(e)
            continue
        actions.append(Raise(e.day, f"D{i}", e.pick, None))
        if e.outcome is None:
            continue
        answered = e.day + timedelta(days=e.answer_after)
        actions.append(Answer(answered, f"D{i}", e.outcome, e.percent))
        if e.outcome == "REJECT" and e.escalate:
            actions.append(Raise(answered + timedelta(days=1), f"D{i}+", 0, f"D{i}"))
            actions.append(Answer(answered + timedelta(days=3), f"D{i}+", e.escalate,
                                  e.percent))
    return sorted(actions, key=lambda a: a.day)   # stable: same-day order kept


class Replay:
    def __init__(self, users, folder, log=note):
        self.users, self.folder, self.log = users, folder, log
        self.happened = set()     # what the scenario really did, for the statistics
        self.disputes, self.adjustments = {}, {}  # by the scenario's tag

    def run(self, scenario: Scenario):
        rows = []
        for b in scenario.bills:
            amount = (b.kwh * PRICE[b.account]).quantize(Decimal("0.01"))
            rows.append([bill_no(b), b.account, b.period.isoformat(),
                         ref.month_bounds(b.period)[1].isoformat(), "", "", "", "",
                         str(b.kwh), str(PRICE[b.account]), str(amount), "", "", "", ""])
        import_file(self.folder, "bills", BILL_HEADER, rows, "bills.csv")
        for action in timeline(scenario):
            done = getattr(self, f"do_{type(action).__name__}")(action)
            self.log(f"{action} -> {done}")
            if not (isinstance(done, str) and done.startswith("no")):
                self.happened.add(type(action).__name__)

    # payments and allocation
    def do_Pay(self, a: Pay):
        bill = Bill.objects.get(bill_no=bill_no(a.bill))
        result = bill_services.pay_bills([bill.pk], self.users["admin"], a.day, reason="测试")
        assert result.paid == [bill.pk], f"{bill_no(a.bill)} not paid: {result}"
        return "paid"

    def do_Push(self, a: Push):
        bill = Bill.objects.get(bill_no=bill_no(a.bill))
        return allocate_bills([bill.pk], today=a.day).lines

    def do_Lump(self, a: Lump):
        month = a.day.replace(day=1)
        if a.previous_month:
            month = (month - timedelta(days=1)).replace(day=1)
        return settlement.lump_sums(month, today=a.day)

    # the operator's answers and the tower's
    def _pending(self, day):
        return list(Line.objects.filter(status=Line.Status.PUSHED, operator__isnull=False,
                                        push_date__lte=day).order_by("pk")
                    .values_list("pk", "operator__code", "kind"))

    def do_Confirm(self, a: Confirm):
        pending = self._pending(a.day)
        if not pending:
            return "nothing pending"
        chosen = [pending[(a.pick + k) % len(pending)] for k in range(a.count)]
        done = []
        for code in sorted({c for _, c, _ in chosen}):
            ids = sorted({pk for pk, c, _ in chosen if c == code})
            result = settlement.confirm_lines(ids, self.users[code], today=a.day,
                                              at=at(a.day, 10))
            assert result.confirmed == ids, result
            done += ids
        return " ".join(f"L{pk}" for pk in done)

    def do_Raise(self, a: Raise):
        if a.of is not None:
            adj = Line.objects.filter(pk=self.adjustments.get(a.of),
                                      status=Line.Status.PUSHED).first()
            if adj is None:
                return "no adjustment pending"
            pk, code = adj.pk, adj.operator.code
        else:
            pending = self._pending(a.day)
            if not pending:
                return "nothing pending"
            pk, code, _ = pending[a.pick % len(pending)]
        d = settlement.dispute_line(pk, self.users[code], "KWH", "读数不符", today=a.day,
                                    at=at(a.day, 9))
        self.disputes[a.tag] = d.pk
        self.happened.add(f"dispute {d.status}")
        return f"L{pk} D{d.pk} {d.status}"

    def do_Answer(self, a: Answer):
        d = Dispute.objects.filter(pk=self.disputes.get(a.tag),
                                   status__in=Dispute.OPEN_STATES).select_related("line").first()
        if d is None:
            return "no such open dispute"
        amount = None
        if a.outcome == "PARTIAL":
            amount = (d.line.receivable * a.percent / 100).quantize(Decimal("0.01"))
            if not amount < d.line.receivable:
                return "no PARTIAL of a zero line"
        adj = settlement.answer_dispute(d.pk, self.users["admin"], a.outcome, "核实",
                                        new_amount=amount, today=a.day, at=at(a.day, 16))
        self.adjustments[a.tag] = adj.pk
        self.happened.add(f"answer {a.outcome} {d.status}")
        return f"D{d.pk} {a.outcome} -> L{adj.pk} {adj.receivable}"

    def do_Deadlines(self, a: Deadlines):
        return settlement.run_deadlines(a.day)

    # statements, receipts and write-off
    def do_Statements(self, a: Statements):
        month = a.day.replace(day=1)
        if a.previous_month:
            month = (month - timedelta(days=1)).replace(day=1)
        return [s.number for s in collection.issue_statements(month, self.users["admin"])]

    def do_Take(self, take: Take):
        a, number = take.receipt, take.receipt_no
        reference = "电费"
        if a.names_statement:
            st_ = Statement.objects.filter(operator__code=a.operator, city__name=a.city) \
                .exclude(status=Statement.Status.VOID).order_by("pk").first()
            if st_ is not None:
                reference = f"电费 {st_.number}"
        received = a.day - timedelta(days=a.dated_back)
        import_file(self.folder, "receipts", RECEIPT_HEADER, [
            [number, a.operator, a.city, str(a.amount), received.isoformat(), reference]],
            f"{number}.csv")
        r = Receipt.objects.get(receipt_no=number)
        if r.applied < r.amount:
            self.happened.add("receipt left partly unapplied")
        if received.month != a.day.month:
            self.happened.add("receipt imported after its month")
        return f"{r.receipt_no} dated {received} applied {r.applied}"

    def do_Match(self, a: Match):
        return collection.auto_match(user=self.users["admin"], today=a.day).applied

    def do_ManualMatch(self, a: ManualMatch):
        receipts = list(Receipt.objects.filter(amount__gt=F("applied"),
                                               received_date__lte=a.day).order_by("pk"))
        if not receipts:
            return "no receipt with money left"
        r = receipts[a.receipt % len(receipts)]
        lines = list(Line.objects.filter(status=Line.Status.CONFIRMED, operator=r.operator_id,
                                         receivable__gt=F("written_off")).order_by("pk")
                     .values_list("pk", flat=True))
        if not lines:
            return "no open line of the operator"
        pk = lines[a.line % len(lines)]
        n, total = collection.manual_match(r.pk, [pk], self.users["admin"], "对账核实",
                                           today=a.day)
        return f"{r.receipt_no} -> L{pk} {total}"

    def do_Unmatch(self, a: Unmatch):
        live = list(ref.application_model().objects.filter(reversed_at__isnull=True)
                    .order_by("pk").values_list("pk", flat=True))
        if not live:
            return "no live application"
        pk = live[a.pick % len(live)]
        return collection.unmatch([pk], self.users["admin"], "误核销", today=a.day)

    def do_Undo(self, a: Undo):
        live = list(ref.application_model().objects.filter(
            receipt__receipt_no=a.receipt_no, reversed_at__isnull=True).order_by("pk")
            .values_list("pk", flat=True))
        if not live:
            return "no live write-off of the receipt"
        return collection.unmatch(live[:1], self.users["admin"], "误核销", today=a.day)


def report_date(r: Report) -> tuple[date, date]:
    month = MONTHS[r.month]
    end = month_end(month)
    if r.when == "end":
        return month, end
    if r.when == "after":
        return month, end + timedelta(days=min(r.days, 5))
    if r.when == "next":
        return month, end + timedelta(days=r.days)
    return month, timezone.localdate()    # long after: reversals (dated now) count


# ---- the comparison ---------------------------------------------------------------------

def differences(product_rows, reference_rows) -> list[str]:
    ours, theirs = ref.by_scope(product_rows), ref.by_scope(reference_rows)
    out = []
    for scope in sorted(set(ours) | set(theirs)):
        got, want = ours.get(scope, {}), theirs.get(scope, {})
        for name in COMPARED:
            g, w = Decimal(str(got.get(name, 0))), Decimal(str(want.get(name, 0)))
            if g != w:
                out.append(f"{'/'.join(scope)} {name}: product {g} != reference {w}")
    return out


@pytest.fixture
def kpi_province(db, tmp_path, settings):
    """The province's master data, imported once per test (kept across examples)."""
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False    # pushed on the scenario's calendar
    import_master(tmp_path / "master", SITES, TENANCIES, RULES, ACCOUNTS)
    for p in Province.objects.all():                # oldest-first matching, as the demo
        MatchSetting.objects.update_or_create(province=p, defaults={"oldest_first": True})
    return staff_and_operators(), tmp_path


@hypothesis_settings(max_examples=EXAMPLES, deadline=None, print_blob=True, phases=PHASES,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario=scenarios)
@example(scenario=EVERY_KIND)
def test_snapshot_kpis_equal_the_reference_at_every_scope(kpi_province, scenario):
    from towerledger.analysis import kpi

    users, folder = kpi_province
    with transaction.atomic():
        replay = Replay(users, folder)
        replay.run(scenario)
        for what in sorted(replay.happened):
            event(what)
        for r in scenario.reports:
            month, as_of = report_date(r)
            event(f"report {r.when}")
            wrong = differences(kpi.compute(month, as_of), ref.compute(month, as_of))
            assert not wrong, f"{month:%Y-%m} as of {as_of}:\n" + "\n".join(wrong[:30])
        transaction.set_rollback(True)
