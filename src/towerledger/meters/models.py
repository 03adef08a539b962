"""What the ledger keeps of the meter analytics (the hourly readings stay in Parquet): the daily
figures go to ``bills.MeterDay`` (BENCH_SMART reads them); per site and month the use, DC load
and baseline; per bill the theft-suspicion score and its signals (the THEFT_SUSPECT audit
check reads them); per remediated site and month the measured saving."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SiteMonth(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="meter_months")
    month = models.DateField(_("month"))
    kwh = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    kwh_days = models.PositiveSmallIntegerField(default=0)
    kwh_per_day = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    dc_current_a = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    dc_benchmark_kwh = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    baseline_per_day = models.DecimalField(max_digits=12, decimal_places=2, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "month"],
                                               name="uniq_meter_site_month")]


class TheftScore(models.Model):
    """偷电嫌疑: one metered bill scored by the job (the month its period ends in)."""

    bill = models.OneToOneField("bills.Bill", on_delete=models.CASCADE, primary_key=True,
                                related_name="theft_score")
    month = models.DateField(_("month"), db_index=True)
    score = models.DecimalField(max_digits=5, decimal_places=2)
    suspect = models.BooleanField(default=False, db_index=True)
    bill_kwh = models.DecimalField(max_digits=14, decimal_places=2)
    smart_kwh = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    dc_benchmark_kwh = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    baseline_per_day = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    actual_per_day = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_tenancy = models.BooleanField(default=False)
    signals = models.JSONField(default=dict)
    engine = models.CharField(max_length=10, default="duckdb")
    computed_at = models.DateTimeField(auto_now=True)


class Saving(models.Model):
    """节能量: a remediated site's saving in a month, with its inputs (DOMAIN §7)."""

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="meter_savings")
    month = models.DateField(_("month"))
    detected_on = models.DateField()
    remediated_on = models.DateField()
    baseline_per_day = models.DecimalField(max_digits=12, decimal_places=2)
    actual_per_day = models.DecimalField(max_digits=12, decimal_places=2)
    days = models.PositiveSmallIntegerField()
    kwh = models.DecimalField(max_digits=14, decimal_places=2)
    unit_price = models.DecimalField(max_digits=8, decimal_places=4)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "month"],
                                               name="uniq_meter_saving")]
