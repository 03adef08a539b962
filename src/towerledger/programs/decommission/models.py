"""拆站 cases: the request, what each step recorded (final readings, accounts closed) and
the log of every step (who, when, why). The checklist itself is computed
(domain.decommission) from these rows and the ledger's own facts."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from towerledger.sites.models import Site, SupplyAccount


class Decommissioning(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "进行中 open"
        ARCHIVED = "ARCHIVED", "已归档 archived"
        REOPENED = "REOPENED", "已重新启用 reopened"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="decommissionings")
    planned_date = models.DateField("拆站日期 decommission date")
    reason = models.CharField("原因 reason", max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [models.UniqueConstraint(
            fields=["site"], condition=~models.Q(status="REOPENED"),
            name="one_live_decommissioning_per_site")]

    def __str__(self):
        return f"拆站 {self.site.site_code} {self.planned_date}"


class CaseAccount(models.Model):
    """A supply account of the site in the case: its final reading and its closure."""

    case = models.ForeignKey(Decommissioning, on_delete=models.CASCADE, related_name="accounts")
    account = models.ForeignKey(SupplyAccount, on_delete=models.PROTECT, related_name="+")
    final_reading = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    read_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "account"],
                                               name="uniq_case_account")]


class CaseEvent(models.Model):
    """One step taken (or refused) on a case: who, when, why, what."""

    case = models.ForeignKey(Decommissioning, on_delete=models.CASCADE, related_name="events")
    step = models.CharField(max_length=12)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
