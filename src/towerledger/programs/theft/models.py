"""Theft cases (偷电整治), their events, evidence and recoveries (追缴), measured savings and
the savings shares charged to the operators (效益分成), sharing agreements and the month's
snapshot of the program's figures."""

from django.conf import settings
from django.db import models

from towerledger.domain.savings import CaseState

STATES = [(s.value, s.value) for s in CaseState]


def money(**kw):
    return models.DecimalField(max_digits=14, decimal_places=2, **kw)


class Case(models.Model):
    class Source(models.TextChoices):
        FLAG = "FLAG", "稽核发现 Audit finding"
        IMPORT = "IMPORT", "清单导入 List import"
        MANUAL = "MANUAL", "手工登记 By hand"
        METER = "METER", "计量分析 Meter analytics"

    case_no = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("sites.SupplyAccount", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=Source.choices)
    flag = models.OneToOneField("bills.Flag", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="theft_case")
    suspected_from = models.DateField()
    suspected_to = models.DateField()
    detected_on = models.DateField()
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    handler_name = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)
    state = models.CharField(max_length=14, choices=STATES, default=CaseState.SUSPECTED,
                             db_index=True)
    state_since = models.DateField()
    due = models.DateField()                   # the current step's deadline
    remediated_on = models.DateField(null=True, blank=True)
    baseline_per_day = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    baseline_days = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_on", "case_no"]
        constraints = [models.UniqueConstraint(fields=["account", "detected_on"],
                                               name="theft_case_account_detected")]

    def __str__(self):
        return self.case_no


class CaseEvent(models.Model):
    """One step of a case: who, when, why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=12)          # OPEN or a CaseEvent
    from_state = models.CharField(max_length=14, blank=True)
    to_state = models.CharField(max_length=14)
    on = models.DateField()
    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                             blank=True, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]


class CaseEvidence(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="theft/%Y/%m/")
    name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)


class CaseRecovery(models.Model):
    """Money recovered from whoever stole (追缴款), a receipt on the case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="recoveries")
    amount = money()
    received_on = models.DateField()
    payer = models.CharField(max_length=120)
    reference = models.CharField(max_length=60, unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class RecoveryCredit(models.Model):
    """A RECOVERY_CREDIT line pushed for a recovery (one per line, idempotency)."""

    recovery = models.ForeignKey(CaseRecovery, on_delete=models.PROTECT, related_name="credits")
    line = models.OneToOneField("settlement.Line", on_delete=models.PROTECT, related_name="+")


class SavingsMonth(models.Model):
    """A case's measured savings of one month, with their inputs."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="savings")
    month = models.DateField()
    baseline_per_day = models.DecimalField(max_digits=14, decimal_places=4)
    actual_per_day = models.DecimalField(max_digits=14, decimal_places=4)
    days = models.PositiveSmallIntegerField()
    unit_price = models.DecimalField(max_digits=8, decimal_places=4)
    savings = money()
    computed_at = models.DateTimeField(auto_now=True)
    # the share charged (效益分成): set once, in the transaction that pushed its lines
    tower_share = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    tower_amount = money(null=True, blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "month"]
        constraints = [models.UniqueConstraint(fields=["case", "month"],
                                               name="theft_savings_case_month")]


class ShareCharge(models.Model):
    """A SAVINGS_SHARE line pushed for a case-month (one per line, idempotency)."""

    savings_month = models.ForeignKey(SavingsMonth, on_delete=models.PROTECT,
                                      related_name="charges")
    line = models.OneToOneField("settlement.Line", on_delete=models.PROTECT, related_name="+")


class SharingAgreement(models.Model):
    """The tower's share of measured savings (效益分成比例); the most specific in force wins:
    the operator's own before the province's (operator empty = all)."""

    class Program(models.TextChoices):
        THEFT = "THEFT", "偷电整治 Theft"
        CONVERSION = "CONVERSION", "转改直 Conversion"
        TRADING = "TRADING", "市场交易 Market trading"

    province = models.ForeignKey("org.Province", on_delete=models.CASCADE, related_name="+")
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    program = models.CharField(max_length=12, choices=Program.choices)
    tower_share = models.DecimalField(max_digits=5, decimal_places=4)
    effective_from = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["province", "program", "effective_from"]
        constraints = [models.UniqueConstraint(
            fields=["province", "operator", "program", "effective_from"],
            name="theft_agreement_key")]


class CaseDeadline(models.Model):
    """A province's days per workflow step (default 30)."""

    province = models.OneToOneField("org.Province", on_delete=models.CASCADE, related_name="+")
    step_days = models.PositiveSmallIntegerField(default=30)


class TheftSnapshot(models.Model):
    """The month close's figures of the program per city (ProgramSnapshot-like)."""

    month = models.DateField()
    city = models.ForeignKey("org.City", on_delete=models.CASCADE, related_name="+")
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "city"],
                                               name="theft_snapshot_month_city")]
