"""历史数据 Opening balances: the legacy ledger's rows as they were taken over, the lines and
legacy receipts they became, the take-over reconciliation's sign-offs and the collection
drives' targets (回收攻坚)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from towerledger.sites.models import money


class LegacyRow(models.Model):
    """One legacy ledger row (site, operator, month) as the file gave it, and what it became:
    its confirmed line, its still-pending line and the legacy receipt of its write-offs.
    Unique by its natural key: a second import of the same row changes nothing."""

    batch = models.CharField(_("batch"), max_length=40, db_index=True)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"))
    pushed = money(_("pushed"))
    confirmed = money(_("confirmed"))
    written_off = money(_("written off"))
    outstanding = money(_("outstanding"))
    push_date = models.DateField(_("push date"))
    confirm_date = models.DateField(_("confirm date"), null=True, blank=True)
    write_off_date = models.DateField(_("write-off date"), null=True, blank=True)
    confirmed_line = models.OneToOneField("settlement.Line", on_delete=models.PROTECT,
                                          null=True, blank=True, related_name="+")
    pending_line = models.OneToOneField("settlement.Line", on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    receipt = models.ForeignKey("collection.Receipt", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("legacy ledger row")
        verbose_name_plural = _("legacy ledger rows")
        constraints = [models.UniqueConstraint(fields=["site", "operator", "month"],
                                               name="uniq_legacy_row")]
        indexes = [models.Index(fields=["city", "operator"])]


class LegacyUnapplied(models.Model):
    """Legacy unapplied cash (预收/未核销回款) of an operator in a city, taken over as an
    unapplied receipt that matching can use later."""

    batch = models.CharField(_("batch"), max_length=40, db_index=True)
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    amount = money(_("amount"))
    received_date = models.DateField(_("received date"))
    receipt = models.OneToOneField("collection.Receipt", on_delete=models.PROTECT,
                                   related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("legacy unapplied cash")
        verbose_name_plural = _("legacy unapplied cash")
        constraints = [models.UniqueConstraint(
            fields=["batch", "operator", "city", "received_date"], name="uniq_legacy_unapplied")]


class SignOff(models.Model):
    """A finance manager's sign-off of the take-over reconciliation: who, when, a note, and
    the figures as they stood (so a later change shows)."""

    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    signed_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(_("note"))
    ties = models.BooleanField(_("ties to the fen"))
    figures = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("take-over sign-off")
        verbose_name_plural = _("take-over sign-offs")


class CollectionTarget(models.Model):
    """回收攻坚: a city's target — by ``target_date``, collect ``target_amount`` (or
    ``target_rate`` of them) of the arrears it owed on ``baseline_date``."""

    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    baseline_date = models.DateField(_("baseline date"))
    target_date = models.DateField(_("target date"))
    target_amount = money(_("target amount"), null=True, blank=True)
    target_rate = models.DecimalField(_("target rate"), max_digits=5, decimal_places=4,
                                      null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("collection target")
        verbose_name_plural = _("collection targets")
        constraints = [
            models.UniqueConstraint(fields=["city", "target_date"], name="uniq_city_target"),
            models.CheckConstraint(condition=models.Q(target_amount__isnull=False)
                                   | models.Q(target_rate__isnull=False),
                                   name="target_amount_or_rate")]


class DriveMonth(models.Model):
    """A closed month's arrears of a city at its last day (the month close's snapshot step):
    legacy (chains taken over from the legacy ledger) and current, for the drive's trend."""

    month = models.DateField(_("month"))
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    legacy_outstanding = money(_("legacy outstanding"))
    current_outstanding = money(_("current outstanding"))
    legacy_over_365 = money(_("legacy over 365 days"), default=0)

    class Meta:
        verbose_name = _("drive month")
        verbose_name_plural = _("drive months")
        constraints = [models.UniqueConstraint(fields=["month", "city"],
                                               name="uniq_drive_month")]
