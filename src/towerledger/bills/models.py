"""Bills (缴费单), their audit flags (稽核), the rule configuration and payments (支付/垫付)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from towerledger.domain.codes import InvoiceType, choices
from towerledger.sites.models import SupplyAccount, money


def kwh(verbose, **kw):
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, **kw)


class Bill(models.Model):
    """What the grid or landlord charges for one account and one period.

    The natural key is (account, bill_no). A second bill under the same key with different
    content is kept, as a duplicate (``dup_seq`` > 0) flagged DUP_BILL_NO, never merged.
    """

    class Status(models.TextChoices):
        UNPAID = "UNPAID", _("Unpaid")
        PAID = "PAID", _("Paid")
        VOID = "VOID", _("Void")

    account = models.ForeignKey(SupplyAccount, on_delete=models.PROTECT, related_name="bills")
    bill_no = models.CharField(_("bill no"), max_length=60)
    dup_seq = models.PositiveSmallIntegerField(default=0)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    start_reading = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    end_reading = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    multiplier = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    loss_kwh = kwh(_("loss kWh"), null=True, blank=True)
    kwh = kwh(_("kWh"), null=True, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=8, decimal_places=4,
                                     null=True, blank=True)
    amount = money(_("amount"))
    input_tax = money(_("input tax"), null=True, blank=True)
    invoice_type = models.CharField(_("invoice type"), max_length=12, choices=choices(InvoiceType),
                                    blank=True)
    meter_changed = models.BooleanField(_("meter changed"), default=False)
    # 换表: the old meter's last reading (旧表止码) and the new meter's first (新表起码)
    old_meter_end_reading = models.DecimalField(max_digits=14, decimal_places=2, null=True,
                                                blank=True)
    new_meter_start_reading = models.DecimalField(max_digits=14, decimal_places=2, null=True,
                                                  blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.UNPAID, db_index=True)
    paid_date = models.DateField(_("paid date"), null=True, blank=True, db_index=True)
    payment_ref = models.CharField(_("payment ref"), max_length=60, blank=True)
    requested_paid_date = models.DateField(null=True, blank=True)  # in the file, held by audit
    blocking = models.PositiveSmallIntegerField(default=0)  # open BLOCK flags (denormalised)
    warnings = models.PositiveSmallIntegerField(default=0)  # open WARN flags
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        constraints = [
            models.UniqueConstraint(fields=["account", "bill_no", "dup_seq"], name="uniq_bill"),
            # 支付流水号: paying is idempotent by payment_ref
            models.UniqueConstraint(fields=["payment_ref"], condition=~models.Q(payment_ref=""),
                                    name="uniq_payment_ref"),
        ]
        indexes = [models.Index(fields=["account", "period_start"])]
        ordering = ["-period_start", "bill_no"]

    def __str__(self):
        return f"{self.account.account_no}/{self.bill_no}"

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1


class Flag(models.Model):
    """One audit finding on one bill, with the figures that triggered it."""

    class Status(models.TextChoices):
        OPEN = "OPEN", _("Open")
        RESOLVED = "RESOLVED", _("Resolved")
        WHITELISTED = "WHITELISTED", _("Whitelisted")

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="flags")
    code = models.CharField(_("rule"), max_length=20, db_index=True)
    severity = models.CharField(_("severity"), max_length=5)  # BLOCK | WARN
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    message_zh = models.CharField(max_length=300)
    message_en = models.CharField(max_length=300)
    figures = models.JSONField(default=dict)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="assigned_flags")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="resolved_flags")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("audit flag")
        verbose_name_plural = _("audit flags")
        constraints = [models.UniqueConstraint(fields=["bill", "code"], name="uniq_flag")]


class AuditRuleSetting(models.Model):
    """Per-province override of an audit rule's severity, thresholds or on/off."""

    province = models.ForeignKey("org.Province", on_delete=models.CASCADE, null=True, blank=True)
    code = models.CharField(_("rule"), max_length=20)
    enabled = models.BooleanField(_("enabled"), default=True)
    severity = models.CharField(_("severity"), max_length=5, blank=True)
    thresholds = models.JSONField(_("thresholds"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit rule setting")
        verbose_name_plural = _("audit rule settings")
        constraints = [models.UniqueConstraint(fields=["province", "code"], name="uniq_rule_setting",
                                               nulls_distinct=False)]


class Whitelist(models.Model):
    """An account exempt from one rule (e.g. INVOICE for a government landlord), with why."""

    account = models.ForeignKey(SupplyAccount, on_delete=models.CASCADE, related_name="whitelist")
    code = models.CharField(_("rule"), max_length=20)
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("whitelist entry")
        verbose_name_plural = _("whitelist")
        constraints = [models.UniqueConstraint(fields=["account", "code"], name="uniq_whitelist")]


class SubmeterReading(models.Model):
    """分户计量: one tenancy's (site + operator) sub-metered kWh over a period."""

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="submeter")
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT)
    period_start = models.DateField()
    period_end = models.DateField()
    kwh = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["site", "operator", "period_start", "period_end"], name="uniq_submeter")]


class MeterDay(models.Model):
    """FSU smart-meter day (动环监控): metered kWh and DC load of a site on one day."""

    # No foreign-key constraint in the database and no index of its own: a province month is
    # 2.6 M rows (issue 18), and PostgreSQL's deferred check of each row's site at COMMIT
    # took as long as writing the rows. Every writer names sites that exist (the import joins
    # its site codes to sites, unknown codes are row errors); a site's deletion still takes
    # its days with it (Django's CASCADE); (site, date) is the unique index below.
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="meter_days",
                             db_constraint=False, db_index=False)
    date = models.DateField()
    kwh = models.DecimalField(max_digits=12, decimal_places=2)
    dc_current_a = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    dc_voltage = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="uniq_meter_day")]


class Refund(models.Model):
    """退费: a grid refund or a supplier's credit note on an account (the money comes back).

    Allocated like a negative bill by the shares of the bill it refunds (``bill``; when
    empty, the account's latest paid bill on or before ``refund_date``): the operators that
    bore the original get credit lines, the tower its tower-borne part
    (``settlement.corrections.record_refund``)."""

    account = models.ForeignKey(SupplyAccount, on_delete=models.PROTECT, related_name="refunds")
    refund_no = models.CharField(_("refund no"), max_length=60)
    amount = money(_("amount"))
    refund_date = models.DateField(_("refund date"))
    reason = models.CharField(_("reason"), max_length=200)
    bill = models.ForeignKey("Bill", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="refunds")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.UniqueConstraint(fields=["account", "refund_no"],
                                               name="uniq_refund_no")]

    def __str__(self):
        return self.refund_no
