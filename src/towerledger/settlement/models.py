"""Allocation lines (分摊明细), their push, the operator's answer, disputes (争议) and
adjustments (调账). A pushed line is never edited: every correction is a new line that
references the one it corrects."""

from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from towerledger.domain.codes import SettlementMode, choices
from towerledger.sites.models import money


def line_state(name: str) -> Q:
    """The condition for a named state of a line — the one definition of what each status
    means (应收核心); ``LineQuerySet`` filters by it, aggregates use it as ``filter=``:

    * pending: pushed and waiting for the operator (待确认)
    * disputed: disputed and not yet answered (争议中)
    * unanswered: pending or disputed (the UNCONFIRMED account)
    * confirmed: confirmed, explicitly or deemed (已确认): the receivable
    * current: the latest version of every chain: pending, disputed or confirmed — never a
      superseded line beside its replacement, never a tower-borne one
    * answered: the operator's history: confirmed, disputed or settled by an adjustment
    * superseded: settled by an adjustment (已调账)
    * tower: the tower-borne remainders (铁塔自担), never pushed
    * held: allocated but held by a blocking allocation finding (稽核暂缓), not yet pushed
      nor borne; nobody but the tower side sees it
    """
    s = Line.Status
    return {
        "pending": Q(status=s.PUSHED),
        "disputed": Q(status=s.DISPUTED),
        "unanswered": Q(status__in=[s.PUSHED, s.DISPUTED]),
        "confirmed": Q(status=s.CONFIRMED),
        "current": Q(status__in=[s.PUSHED, s.DISPUTED, s.CONFIRMED]),
        "answered": Q(status__in=[s.CONFIRMED, s.DISPUTED, s.SUPERSEDED]),
        "superseded": Q(status=s.SUPERSEDED),
        "tower": Q(status=s.TOWER),
        "held": Q(status=s.HELD),
    }[name]


class LineQuerySet(models.QuerySet):
    """Lines by the names of their states (``line_state``). Every other module asks for
    lines this way; none filters by ``status`` itself (``tests/unit/test_lifecycle_owner.py``
    keeps it so). As-of-date questions about receivable chains are in
    ``settlement.receivables``."""

    def of_operators(self):
        """Lines owed by an operator: every line but the tower-borne and the held ones."""
        return self.exclude(line_state("tower") | line_state("held")) \
            .filter(operator__isnull=False)

    def tower_borne(self):
        return self.filter(line_state("tower"))

    def pending(self):
        return self.filter(line_state("pending"))

    def held(self):
        return self.filter(line_state("held"))

    def disputed(self):
        return self.filter(line_state("disputed"))

    def unanswered(self):
        return self.filter(line_state("unanswered"))

    def confirmed(self):
        return self.filter(line_state("confirmed"))

    def current(self):
        return self.filter(line_state("current"))

    def answered(self):
        return self.filter(line_state("answered"))

    def with_status(self, status: str | None):
        """A user's status filter (lists, API): one stored status, or every line an
        operator can see when empty or ALL."""
        if status in Line.Status.values and status not in (Line.Status.TOWER,
                                                           Line.Status.HELD):
            return self.of_operators().filter(status=status)
        return self.of_operators()

    def unstated(self):
        """Confirmed and on no statement yet (对账单待出具)."""
        return self.confirmed().filter(statement__isnull=True)

    def open(self):
        """Confirmed and not wholly written off (待核销): what receipts may pay."""
        return self.confirmed().exclude(receivable=models.F("written_off"))

    def chains_pushed_in(self, first, last):
        """Lines of the chains whose original was pushed from ``first`` to ``last`` (a
        chain belongs to its original's month, whenever its adjustments came)."""
        return self.filter(Q(root__isnull=True, push_date__gte=first, push_date__lte=last)
                           | Q(root__push_date__gte=first, root__push_date__lte=last))


class LineManager(models.Manager.from_queryset(LineQuerySet)):
    """Every line comes with ``written_off``: the sum of its live applications (核销).

    It is derived, not stored: matching a province's receipts writes only the
    applications, never the (wide, many-indexed) line rows, and nothing can drift. Rounded
    to the fen so SQLite, which sums decimals as floats, compares it exactly too."""

    def get_queryset(self):
        return super().get_queryset().annotate(written_off=live_applied(line=OuterRef("pk")))


class Line(models.Model):
    """One tenancy's part of one paid bill (or its monthly lump sum), or a site's
    tower-borne remainder (tenancy and operator empty), or an adjustment of an earlier line."""

    class Kind(models.TextChoices):
        ALLOCATION = "ALLOCATION", _("Allocation")
        LUMP_SUM = "LUMP_SUM", _("Lump sum")
        ADJUSTMENT = "ADJUSTMENT", _("Adjustment")
        CREDIT = "CREDIT", _("Credit")   # 退费: a refund credited back (negative receivable)
        # the programs' kinds (DOMAIN.md §7), pushed through ``settlement.program_lines``
        RECOVERY_CREDIT = "RECOVERY_CREDIT", _("Theft recovery credit")   # 追缴退还 (negative)
        SAVINGS_SHARE = "SAVINGS_SHARE", _("Savings share")               # 效益分成
        RENT = "RENT", _("Site rent")                                     # 场租
        SITE_FEE_LUMP_SUM = "SITE_FEE_LUMP_SUM", _("Lump-sum site fee")   # 场地费包干
        GENERATOR = "GENERATOR", _("Generator dispatch")                  # 油机发电
        OPENING = "OPENING", _("Opening balance")                         # 历史数据

    class Status(models.TextChoices):
        TOWER = "TOWER", _("Tower-borne")          # never pushed: nobody to confirm it
        PUSHED = "PUSHED", _("Pending confirmation")
        CONFIRMED = "CONFIRMED", _("Confirmed")
        DISPUTED = "DISPUTED", _("Disputed")
        SUPERSEDED = "SUPERSEDED", _("Settled by adjustment")
        HELD = "HELD", _("Held by audit")             # allocated, push held by a finding

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    bill = models.ForeignKey("bills.Bill", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="lines")
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="lines")
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    tenancy = models.ForeignKey("sites.Tenancy", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="lines")
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="lines")
    mode = models.CharField(_("settlement mode"), max_length=10, blank=True,
                            choices=choices(SettlementMode))
    month = models.DateField(_("month"), db_index=True)  # first day of the month it belongs to
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    active_days = models.PositiveSmallIntegerField(_("active days"), default=0)
    share = models.DecimalField(_("share"), max_digits=9, decimal_places=6, default=0)
    cost_share = money(_("cost share"))
    tax_factor = models.DecimalField(_("tax factor"), max_digits=7, decimal_places=4, default=0)
    tax_amount = money(_("tax factor amount"), default=0)
    receivable = money(_("receivable"))
    adjusts = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="adjustments")
    # the original line of the receivable chain (应收链) an adjustment belongs to; empty on
    # an original, which is its own chain's root
    root = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              db_index=True)
    pushed_at = models.DateTimeField(_("pushed at"), null=True, blank=True)
    push_date = models.DateField(_("push date"), null=True, blank=True)
    confirm_due = models.DateField(_("confirm by"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    deemed = models.BooleanField(_("deemed confirmed"), default=False)
    # 对账与核销 (collection): the statement that carries the line; what receipts have
    # written off of it is ``written_off``, which the manager derives from its applications
    statement = models.ForeignKey("collection.Statement", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="lines")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LineManager()

    class Meta:
        verbose_name = _("allocation line")
        verbose_name_plural = _("allocation lines")
        base_manager_name = "objects"   # application.line.written_off works too
        indexes = [models.Index(fields=["operator", "status"]),
                   models.Index(fields=["city", "month"]),
                   models.Index(fields=["site", "month"])]
        constraints = [
            # one allocation line per bill, site and tenancy (NULL tenancy = tower-borne,
            # unique per bill and site through the second constraint)
            models.UniqueConstraint(fields=["bill", "site", "tenancy"],
                                    condition=models.Q(kind="ALLOCATION"),
                                    name="uniq_allocation_line"),
            models.UniqueConstraint(fields=["bill", "site"],
                                    condition=models.Q(kind="ALLOCATION", tenancy__isnull=True),
                                    name="uniq_tower_line"),
            models.UniqueConstraint(fields=["tenancy", "month"],
                                    condition=models.Q(kind="LUMP_SUM"),
                                    name="uniq_lump_sum_line"),
            models.UniqueConstraint(fields=["tenancy", "month"],
                                    condition=models.Q(kind="SITE_FEE_LUMP_SUM"),
                                    name="uniq_site_fee_line"),
        ]

    def __str__(self):
        return f"L{self.pk}"

    @classmethod
    def history_choices(cls) -> list[tuple[str, str]]:
        """The statuses of the operator's history (``line_state("answered")``), to pick from."""
        return [(s, s.label) for s in (cls.Status.CONFIRMED, cls.Status.DISPUTED,
                                       cls.Status.SUPERSEDED)]

    @property
    def is_pending(self) -> bool:
        """Waiting for the operator: it may confirm or dispute it."""
        return self.status == Line.Status.PUSHED

    @property
    def chain_root_id(self) -> int:
        """The id of the original line of this line's receivable chain."""
        return self.root_id or self.pk

    @cached_property
    def trace(self) -> dict:
        """How the line was computed, whole (its ``LineTrace``, with the part its bill's site
        shares and the sentences rendered: ``settlement.explain``); {} when it has none."""
        from towerledger.settlement.explain import traces

        return traces([self]).get(self.pk, {})

    def figures(self) -> dict:
        """The line's own figures as its explanation writes them (``domain.explain``)."""
        return {"share": str(self.share), "cost_share": str(self.cost_share),
                "tax_factor": str(self.tax_factor), "tax_amount": str(self.tax_amount),
                "receivable": str(self.receivable)}


class LineTrace(models.Model):
    """A line's explanation (分摊说明): the JSON trace the allocation wrote, ~1.6 kB a line.

    Kept apart from the line: explanations are read one line (or one page) at a time,
    while lines are scanned, confirmed, put on statements and paid off by the hundred
    thousand; in the line rows they made the table twenty times wider than its figures."""

    line = models.OneToOneField(Line, on_delete=models.CASCADE, primary_key=True,
                                related_name="explained")
    trace = models.JSONField(_("explanation"), default=dict)

    class Meta:
        verbose_name = _("line explanation")
        verbose_name_plural = _("line explanations")


class BillSiteTrace(models.Model):
    """The part of an allocation's explanation every line of one bill's site shares (the
    bill, its period, the site's split, the tenancies and the methods day by day), stored
    once instead of on each line (``domain.explain.split``)."""

    bill = models.ForeignKey("bills.Bill", on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    trace = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("bill site explanation")
        verbose_name_plural = _("bill site explanations")
        constraints = [models.UniqueConstraint(fields=["bill", "site"],
                                               name="uniq_bill_site_trace")]


class Dispute(models.Model):
    """争议 / 稽核退回: the operator's objection to a pushed line, and the tower's answer."""

    class Reason(models.TextChoices):
        KWH = "KWH", _("kWh wrong")
        PRICE = "PRICE", _("Price wrong")
        RATIO = "RATIO", _("Ratio wrong")
        PERIOD = "PERIOD", _("Period wrong")
        TENANCY = "TENANCY", _("Tenancy not active")
        INVOICE = "INVOICE", _("Invoice problem")
        DUPLICATE = "DUPLICATE", _("Duplicate")
        OTHER = "OTHER", _("Other")

    class Status(models.TextChoices):
        # "dispute" context: the same English words mean other things on import jobs
        OPEN = "OPEN", pgettext_lazy("dispute", "Open")
        ESCALATED = "ESCALATED", pgettext_lazy("dispute", "Escalated to province")
        ACCEPTED = "ACCEPTED", pgettext_lazy("dispute", "Accepted")
        PARTIAL = "PARTIAL", pgettext_lazy("dispute", "Partly accepted")
        REJECTED = "REJECTED", pgettext_lazy("dispute", "Rejected")

    OPEN_STATES = (Status.OPEN, Status.ESCALATED)

    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="disputes")
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    comment = models.TextField(_("comment"), blank=True)
    attachment = models.FileField(_("attachment"), upload_to="disputes/%Y/%m/", blank=True)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)   # the demo replays history
    due = models.DateField(_("resolve by"))
    overdue = models.BooleanField(_("overdue"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    answer = models.TextField(_("answer"), blank=True)
    new_amount = money(_("new amount"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    adjustment = models.ForeignKey(Line, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            # at most one open dispute per line
            models.UniqueConstraint(fields=["line"], condition=models.Q(
                status__in=["OPEN", "ESCALATED"]), name="one_open_dispute"),
        ]


class Application(models.Model):
    """核销: part of a receipt applied to one line, with the reason it was matched."""

    class Rule(models.TextChoices):
        REFERENCE = "REFERENCE", _("Statement or invoice number in the reference")
        AMOUNT = "AMOUNT", _("Exact amount of one open statement")
        OLDEST = "OLDEST", _("Oldest first within operator and city")
        MANUAL = "MANUAL", _("Matched by hand")

    receipt = models.ForeignKey("collection.Receipt", on_delete=models.PROTECT, related_name="applications")
    # indexed by (line, reversed_at) below, which serves line lookups too
    line = models.ForeignKey(Line, on_delete=models.PROTECT,
                             related_name="applications", db_index=False)
    statement = models.ForeignKey("collection.Statement", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="applications")
    amount = money(_("amount"))
    rule = models.CharField(_("rule"), max_length=10, choices=Rule.choices)
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # who matched and who undid: shown with the application, never searched by (users are
    # deactivated, not deleted), so not indexed: a province's month is ~400,000 of these
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+", db_index=False)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+", db_index=False)
    reversal_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        db_table = "collection_application"    # moved from collection; the table stays
        indexes = [models.Index(fields=["line", "reversed_at"],
                                name="collection__line_id_972e2f_idx")]


def live_applied(**link):
    """An expression: the sum of the live (not reversed) applications tied to each row of
    the outer query by ``link`` (e.g. ``line=OuterRef("pk")``), to the fen (SQLite sums
    decimals as floats), 0 when there are none."""
    key = next(iter(link))
    live = Application.objects.filter(reversed_at__isnull=True, **link).values(key) \
        .annotate(s=Sum("amount")).values("s")
    return Coalesce(Round(Subquery(live), 2), Value(0), output_field=money(_("written off")))


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key and the answer it got, so a retried request does
    nothing twice and gets the same answer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=60)
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="uniq_idem_key")]
