"""The journal and its month lock (MonthClose): balanced entries whose lines carry site and
operator where the posting has them (payments, allocations, confirmations per site; write-offs per operator, their
site detail being the applications), and the trial balance is zero."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class JournalEntry(models.Model):
    date = models.DateField(_("date"), db_index=True)
    kind = models.CharField(_("kind"), max_length=20)  # PAYMENT, ALLOCATION, RECEIPT, …
    # Idempotency: one entry per (kind, reference), e.g. (PAYMENT, payment_ref).
    reference = models.CharField(_("reference"), max_length=120)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True)

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="uniq_entry")]


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(_("account"), max_length=20)   # indexed with site, below
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, null=True, blank=True)
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, null=True, blank=True)
    debit = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    credit = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        indexes = [models.Index(fields=["account", "site"])]


class MonthClose(models.Model):
    """One month's close (月结): its steps as they finish, so an interrupted close resumes.

    A closed month is the journal's lock: ``services.post_entries`` dates later corrections
    into the first open month. The close itself is run by the analysis app."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", pgettext_lazy("month close", "Running")
        CLOSED = "CLOSED", pgettext_lazy("month close", "Closed")

    month = models.DateField(_("month"), unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    steps = models.JSONField(default=list)          # names of the steps finished
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    summary = models.JSONField(default=dict)

    class Meta:
        db_table = "analysis_monthclose"   # made by the analysis app; moved without copying
        verbose_name = _("month close")
        verbose_name_plural = _("month closes")
