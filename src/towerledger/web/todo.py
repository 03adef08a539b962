"""The home page as each role's to-do list (待办): what waits for this user, how many, how
much, the nearest deadline, and a link to the list that shows exactly those records.

Every item is read from the same scoped query as the list it links to (the lines list's
``filtered_lines``, the statements' and receipts' filters, the dispute desk's states), so
the count on the home page is the count on the page behind it. Lines are asked for by the
receivables core's names (``Line.objects.pending()`` …), never by status."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Min, Q, Sum
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.bills.models import Bill, Flag
from towerledger.collection.models import Statement
from towerledger.settlement.models import Dispute
from towerledger.web.collection import filtered_receipts, filtered_statements
from towerledger.web.settlement import filtered_lines
from towerledger.web.statement_month import default_issue_month, issue_preview

ZERO = Decimal("0.00")


@dataclass
class Task:
    """One to-do item: ``count`` records (and ``amount`` yuan) at ``url``; ``due`` the
    nearest deadline (``due_label`` says which), ``since`` the oldest record when there is
    no deadline; ``tone`` block/warn/"" for how urgent."""

    key: str
    label: str
    url: str
    count: int
    amount: Decimal | None = None
    due: date | None = None
    due_label: str = ""
    since: date | None = None
    since_label: str = ""
    tone: str = ""
    notes: list = field(default_factory=list)   # [(text, url)] shown under the item

    @property
    def overdue(self) -> bool:
        return self.due is not None and self.due < timezone.localdate()


def fen(amount) -> Decimal:
    """A sum to the fen (SQLite sums decimals as floats); 0.00 for no rows."""
    return (amount or ZERO).quantize(ZERO)


def _q(params: dict) -> QueryDict:
    q = QueryDict(mutable=True)
    q.update(params)
    return q


def _url(name: str, **params) -> str:
    return reverse(name) + (f"?{urlencode(params)}" if params else "")


def _lines_task(user, key, label, params, due_label, tone="") -> Task:
    t = filtered_lines(user, _q(params)).aggregate(
        n=Count("pk"), amount=Sum("receivable"), due=Min("confirm_due"))
    return Task(key, label, _url("lines", **params), t["n"], fen(t["amount"]),
                t["due"], due_label, tone=tone if t["n"] else "")


# ---- operator --------------------------------------------------------------------------------

def operator_tasks(user) -> list[Task]:
    pending = _lines_task(user, "lines_to_confirm", _("Lines to confirm or dispute"), {},
                          _("confirm by"), "warn")
    answers = _lines_task(user, "answers_to_reply", _("Answers to your disputes, awaiting "
                          "your reply"), {"kind": "ADJUSTMENT"}, _("confirm by"))
    lines = filtered_lines(user, _q({"tab": "history", "status": "DISPUTED"}))
    waiting = lines.aggregate(n=Count("pk"), amount=Sum("receivable"))
    due = Dispute.objects.filter(line__in=lines.values("pk"),
                                 status__in=Dispute.OPEN_STATES).aggregate(d=Min("due"))["d"]
    disputed = Task("disputes_waiting", _("Your disputes, awaiting the tower's answer"),
                    _url("lines", tab="history", status="DISPUTED"), waiting["n"],
                    fen(waiting["amount"]), due, _("the tower answers by"))
    return [pending, answers, disputed, _statements_to_confirm(user)]


def _statements_to_confirm(user) -> Task:
    params = {"status": Statement.Status.ISSUED}
    t = filtered_statements(user, _q(params)).aggregate(
        n=Count("pk"), amount=Sum("receivable"), since=Min("issued_at"))
    since = timezone.localtime(t["since"]).date() if t["since"] else None
    return Task("statements_to_confirm", _("Statements awaiting your electronic "
                "confirmation"), _url("statements", **params), t["n"], fen(t["amount"]),
                since=since, since_label=_("issued since"), tone="warn" if t["n"] else "")


# ---- city clerk and province admin -------------------------------------------------------------

def _bills_task(user, key, label, params, qs, tone) -> Task:
    t = qs.aggregate(n=Count("pk"), amount=Sum("amount"), since=Min("period_start"))
    return Task(key, label, _url("bills", **params), t["n"], fen(t["amount"]),
                since=t["since"], since_label=_("oldest period from"),
                tone=tone if t["n"] else "")


def blocked_bills(user):
    """Unpaid bills held by an open BLOCK finding (the bills list's ``blocked=1``)."""
    return scoped(user, Bill.objects.filter(status=Bill.Status.UNPAID, blocking__gt=0))


def payable_bills(user):
    """Unpaid bills no BLOCK finding holds (the bills list's ``blocked=0``)."""
    return scoped(user, Bill.objects.filter(status=Bill.Status.UNPAID, blocking=0))


def _disputes_task(user, key, label, state, statuses, tone="warn") -> Task:
    qs = scoped(user, Dispute.objects.filter(status__in=statuses))
    t = qs.aggregate(n=Count("pk"), amount=Sum("line__receivable"), due=Min("due"),
                     overdue=Count("pk", filter=Q(overdue=True)))
    task = Task(key, label, _url("disputes", state=state), t["n"], fen(t["amount"]),
                t["due"], _("resolve by"), tone=("block" if t["overdue"] else tone)
                if t["n"] else "")
    if t["overdue"]:
        task.notes.append((_("%(n)d overdue, shown first") % {"n": t["overdue"]},
                           _url("disputes", state="overdue")))
    return task


def _statements_to_issue(user) -> Task:
    preview = issue_preview(user, default_issue_month(user))
    task = Task("statements_to_issue", _("Confirmed lines waiting for a statement of "
                "%(month)s") % {"month": f"{preview.month:%Y-%m}"},
                reverse("statements") + "#issue-form", preview.lines, fen(preview.receivable),
                tone="warn" if preview.lines else "")
    if preview.statements:
        task.notes.append((_("%(n)d statements to issue (one per operator and city)")
                           % {"n": preview.statements}, ""))
    return task


def _receipts_task(user) -> Task:
    params = {"status": "open"}
    t = filtered_receipts(user, _q(params)).aggregate(
        n=Count("pk"), amount=Sum("amount"), applied=Sum("applied"),
        since=Min("received_date"))
    left = fen(t["amount"]) - fen(t["applied"])
    return Task("receipts_to_match", _("Receipts not fully matched (amount unapplied)"),
                _url("receipts", **params), t["n"], left, since=t["since"],
                since_label=_("oldest received"), tone="warn" if t["n"] else "")


def clerk_tasks(user) -> list[Task]:
    admin = role_of(user) == Role.PROVINCE_ADMIN
    tasks = [
        _bills_task(user, "bills_blocked", _("Bills held by a BLOCK finding"),
                    {"blocked": "1"}, blocked_bills(user), "block"),
        _bills_task(user, "bills_to_pay", _("Bills to pay (no BLOCK finding)"),
                    {"status": Bill.Status.UNPAID, "blocked": "0"}, payable_bills(user), ""),
        _disputes_task(user, "disputes_to_answer", _("Disputes to answer"), "OPEN",
                       [Dispute.Status.OPEN]),
    ]
    if admin:
        tasks.append(_disputes_task(user, "disputes_escalated",
                                    _("Disputes escalated to the province"), "ESCALATED",
                                    [Dispute.Status.ESCALATED]))
    tasks += [_statements_to_issue(user), _receipts_task(user), _theft_overdue(user)]
    if admin:
        tasks.append(_months_to_close())
    return tasks


def _theft_overdue(user) -> Task:
    """Theft cases past their step's deadline (偷电整治: the cases list's ``overdue=1``)."""
    from django.utils.translation import get_language

    from towerledger.programs.theft.models import Case
    from towerledger.programs.theft.services import overdue_cases

    en = (get_language() or "").startswith("en")
    t = overdue_cases(scoped(user, Case.objects.all())).aggregate(n=Count("pk"), due=Min("due"))
    return Task("theft_overdue", "Theft cases past their step's deadline" if en else
                "超过处理期限的偷电案件", _url("theft", overdue="1"), t["n"], due=t["due"],
                due_label="due" if en else "期限", tone="block" if t["n"] else "")


def _months_to_close() -> Task:
    from towerledger.web.close import closable_months

    months = closable_months(timezone.localdate())
    return Task("months_to_close", _("Ended months to close"), reverse("month_close"),
                len(months), since=months[0] if months else None,
                since_label=_("earliest"), tone="warn" if months else "")


def open_findings(user) -> int:
    return scoped(user, Flag.objects.filter(status=Flag.Status.OPEN)).count()


def tasks_for(user) -> list[Task]:
    """The user's to-do list, in the order they would work it; empty for a viewer."""
    role = role_of(user)
    if role == Role.OPERATOR:
        return operator_tasks(user)
    if role in (Role.PROVINCE_ADMIN, Role.CITY_CLERK):
        return clerk_tasks(user)
    return []
