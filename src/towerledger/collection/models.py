"""对账单 (statements), 回款 (receipts) and 核销 (write-off: a receipt applied to lines).

A statement gathers an operator's confirmed lines of a month in one city; once the
operator confirms it, it never changes (later corrections land on the next one). A
receipt is cash from an operator; each application of it to a line is a row here, so
write-off can be explained line by line and undone (反核销) with a reason, never edited.
"""

from django.conf import settings
from django.db import models
from django.db.models import Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
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


class Application(models.Model):
    """核销: part of a receipt applied to one line, with the reason it was matched."""

    class Rule(models.TextChoices):
        REFERENCE = "REFERENCE", _("Statement or invoice number in the reference")
        AMOUNT = "AMOUNT", _("Exact amount of one open statement")
        OLDEST = "OLDEST", _("Oldest first within operator and city")
        MANUAL = "MANUAL", _("Matched by hand")

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="applications")
    # indexed by (line, reversed_at) below, which serves line lookups too
    line = models.ForeignKey("settlement.Line", on_delete=models.PROTECT,
                             related_name="applications", db_index=False)
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, null=True, blank=True,
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
        indexes = [models.Index(fields=["line", "reversed_at"])]


def live_applied(**link):
    """An expression: the sum of the live (not reversed) applications tied to each row of
    the outer query by ``link`` (e.g. ``line=OuterRef("pk")``), to the fen (SQLite sums
    decimals as floats), 0 when there are none."""
    key = next(iter(link))
    live = Application.objects.filter(reversed_at__isnull=True, **link).values(key) \
        .annotate(s=Sum("amount")).values("s")
    return Coalesce(Round(Subquery(live), 2), Value(0), output_field=money(_("written off")))


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
