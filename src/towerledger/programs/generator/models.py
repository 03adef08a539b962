"""油机发电 Generator dispatch: outages, generator runs, their audit findings, what each run
was billed as, the operators' agreement rule (dated) and the monthly figures."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from towerledger.domain.generator import METHOD_ZH, METHODS


def money(verbose, **kw):
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, **kw)


class Outage(models.Model):
    """停电: a site without grid power from ``start`` to ``end``."""

    outage_no = models.CharField("停电编号 outage no", max_length=40, unique=True)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="outages")
    start = models.DateTimeField("停电开始 start")
    end = models.DateTimeField("来电时间 end")
    cause = models.CharField("停电原因 cause", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start", "outage_no"]
        indexes = [models.Index(fields=["site", "start"])]

    def __str__(self):
        return self.outage_no

    @property
    def hours(self):
        from towerledger.domain.generator import hours_between

        return round(hours_between(self.start, self.end), 2)


class Run(models.Model):
    """发电记录: one generator run for an outage (``outage`` empty: flagged, never billed
    until resolved). ``cost`` = litres × fuel price + labour + transport, to the fen."""

    run_no = models.CharField("发电单号 run no", max_length=40, unique=True)
    outage = models.ForeignKey(Outage, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="runs")
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="generator_runs")
    crew = models.CharField("发电班组 crew", max_length=120, blank=True)
    start = models.DateTimeField("发电开始 start")
    end = models.DateTimeField("发电结束 end")
    hours = models.DecimalField("发电时长 hours", max_digits=7, decimal_places=2)
    litres = models.DecimalField("耗油量 litres", max_digits=10, decimal_places=2)
    fuel_price = models.DecimalField("油价 fuel price", max_digits=8, decimal_places=4)
    labour_cost = money("人工费 labour", default=0)
    transport_cost = money("运输费 transport", default=0)
    rated_lph = models.DecimalField("额定油耗 rated L/h", max_digits=7, decimal_places=2,
                                    null=True, blank=True)
    cost = money("发电费用 cost")
    paid_date = models.DateField("支付日期 paid date", null=True, blank=True)
    # 付款更正次数: which payment entry stands for the run — GEN-PAY-<run_no> (0, every run
    # paid before any correction) or GEN-PAY-<run_no>#<n> after the n-th correction
    # (services.payment_reference); a correction reverses the standing one as read from
    # the journal, so what is posted is never kept twice.
    payment_version = models.PositiveIntegerField("付款更正次数 payment version", default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start", "run_no"]
        indexes = [models.Index(fields=["site", "start"])]

    def __str__(self):
        return self.run_no


class Finding(models.Model):
    """One audit rule that fired on a run (domain.generator.RULES); a BLOCK one holds the
    run's billing until someone resolves it with a reason."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="findings")
    code = models.CharField(max_length=20)
    severity = models.CharField(max_length=5)
    message_zh = models.CharField(max_length=300)
    message_en = models.CharField(max_length=300)
    figures = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["run", "-severity", "code"]
        constraints = [models.UniqueConstraint(fields=["run", "code"], name="uniq_gen_finding")]

    @property
    def is_open(self):
        return self.resolved_at is None


class Billing(models.Model):
    """A run billed (one per run: billing is idempotent per run), with how it was split."""

    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="billing")
    billed_at = models.DateTimeField(default=timezone.now)
    billed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    method = models.CharField(max_length=12)
    tower_share = models.DecimalField(max_digits=9, decimal_places=6, default=0)
    cost = money("cost")
    tower_part = money("tower part", default=0)


class RunLine(models.Model):
    """Which line a run was billed as (the program's mapping table: one line, one run)."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="run_lines")
    line = models.OneToOneField("settlement.Line", on_delete=models.PROTECT, related_name="+")


class AgreementRule(models.Model):
    """发电分摊规则: the operators' agreement on splitting generator cost, dated, per
    province and operator (empty: all); none in force means EQUAL."""

    province = models.ForeignKey("org.Province", on_delete=models.PROTECT, null=True, blank=True)
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, null=True, blank=True)
    effective_from = models.DateField("生效日期 effective from")
    method = models.CharField("分摊方式 method", max_length=12,
                              choices=[(m, f"{METHOD_ZH[m]} {m}") for m in METHODS])
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["effective_from", "pk"]
        constraints = [models.UniqueConstraint(
            fields=["province", "operator", "effective_from"], name="uniq_gen_rule")]


class MonthFigures(models.Model):
    """One month's generator figures by city and operator (operator empty: the whole cost
    and the tower's part), written by the month close (month_snapshots)."""

    month = models.DateField()
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    outages = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    hours = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    cost = money("cost", default=0)
    billed = money("billed", default=0)
    confirmed = money("confirmed", default=0)
    written_off = money("written off", default=0)
    as_of = models.DateField()

    class Meta:
        ordering = ["month", "city", "operator"]
