"""The journal: balanced entries whose lines carry site and operator where the posting
has them (payments, allocations, confirmations per site; write-offs per operator, their
site detail being the applications), and the trial balance is zero."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    account = models.CharField(_("account"), max_length=12)   # indexed with site, below
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, null=True, blank=True)
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, null=True, blank=True)
    debit = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    credit = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        indexes = [models.Index(fields=["account", "site"])]
