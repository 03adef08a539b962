"""对账单 (statements), 回款 (receipts) and 核销 (write-off: a receipt applied to lines).

A statement gathers an operator's confirmed lines of a month in one city; once the
operator confirms it, it never changes (later corrections land on the next one). A
receipt is cash from an operator; each application of it to a line is a row here, so
write-off can be explained line by line and undone (反核销) with a reason, never edited.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from towerledger.sites.models import money


class Statement(models.Model):
    class Status(models.TextChoices):
        ISSUED = "ISSUED", pgettext_lazy("statement", "Issued")
        CONFIRMED = "CONFIRMED", pgettext_lazy("statement", "Confirmed")
        VOID = "VOID", pgettext_lazy("statement", "Withdrawn")

    number = models.CharField(_("statement no"), max_length=40, unique=True)
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")   # None: the province-level statement
    province = models.ForeignKey("org.Province", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ISSUED, db_index=True)
    lines_count = models.PositiveIntegerField(default=0)
    cost_share = money(_("cost share"), default=0)
    tax_amount = money(_("tax factor amount"), default=0)
    receivable = money(_("receivable"), default=0)
    by_mode = models.JSONField(default=dict)     # {mode: {"lines", "cost_share", "tax", "receivable"}}
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    invoice_no = models.CharField(_("invoice no"), max_length=40, blank=True, db_index=True)
    invoice_date = models.DateField(_("invoice date"), null=True, blank=True)
    invoice_amount = money(_("invoice amount"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        indexes = [models.Index(fields=["operator", "city", "month"])]

    def __str__(self):
        return self.number


class Receipt(models.Model):
    class Status(models.TextChoices):
        UNMATCHED = "UNMATCHED", pgettext_lazy("receipt", "Unmatched")
        PARTIAL = "PARTIAL", pgettext_lazy("receipt", "Partly applied")
        APPLIED = "APPLIED", pgettext_lazy("receipt", "Applied")

    receipt_no = models.CharField(_("receipt no"), max_length=60, unique=True)
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")
    amount = money(_("amount"))
    received_date = models.DateField(_("received date"), db_index=True)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    applied = money(_("applied"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.UNMATCHED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")

    @property
    def unapplied(self):
        return self.amount - self.applied

    def __str__(self):
        return self.receipt_no


class MatchSetting(models.Model):
    """Per province: may automatic matching fall back to oldest-first (按账龄核销)?"""

    province = models.OneToOneField("org.Province", on_delete=models.CASCADE,
                                    related_name="match_setting")
    oldest_first = models.BooleanField(_("match oldest first when nothing else matches"),
                                       default=False)


class ColumnMapping(models.Model):
    """电子化对账: how an operator's own ledger file names our fields, remembered."""

    operator = models.OneToOneField("org.Operator", on_delete=models.CASCADE,
                                    related_name="ledger_mapping")
    mapping = models.JSONField(default=dict)   # our field -> their column header
    updated_at = models.DateTimeField(auto_now=True)
