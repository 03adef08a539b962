"""场租与场地费包干 Site rent and lump-sum site fees (DOMAIN.md §7).

* ``Landlord`` (业主): a person or an organisation, with the bank account rent is paid to —
  never shown to operators.
* ``RentContract`` (场租合同): one landlord contract per site and period: annual rent, payment
  cycle (monthly / quarterly / yearly, in advance or in arrears), escalation (a fixed % a
  year or a fixed step in yuan a year), deposit, and how the rent is passed through to the
  operators on the site (by tenancy, by agreed ratio, or borne by the tower).
* ``ScheduleItem`` (付款计划): the payment schedule generated from the contract
  (``domain.rent.schedule``), one row per payment period.
* ``RentPayment`` (付款): rent (or the deposit) paid to the landlord (垫付), posted to the
  journal; ``RentLine`` maps a payment to each RENT line pushed for it (idempotency).
* ``SiteFeeAgreement`` (场地费包干协议): a tenancy's monthly lump-sum site fee; the month close
  makes its SITE_FEE_LUMP_SUM lines (``SiteFeeLine`` maps agreement and month to the line).
* ``RentFinding`` (稽核发现): a contract whose rent is far above the city's median.
* ``RentMonth``: the monthly figures by city the close stores (rent paid, passed through,
  borne, overdue, site fees and their gap to the real rent cost).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


def money(verbose, **kw):
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, **kw)


class Landlord(models.Model):
    class Kind(models.TextChoices):
        PERSON = "PERSON", "个人 Person"
        ORG = "ORG", "单位 Organisation"

    name = models.CharField("业主 landlord", max_length=120, unique=True)
    kind = models.CharField("类型 kind", max_length=6, choices=Kind.choices, default=Kind.PERSON)
    bank_name = models.CharField("开户行 bank", max_length=120, blank=True)
    bank_account = models.CharField("银行账号 bank account", max_length=40, blank=True)
    phone = models.CharField("电话 phone", max_length=40, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RentContract(models.Model):
    class Cycle(models.TextChoices):
        MONTHLY = "MONTHLY", "月付 monthly"
        QUARTERLY = "QUARTERLY", "季付 quarterly"
        YEARLY = "YEARLY", "年付 yearly"

    class Timing(models.TextChoices):
        ADVANCE = "ADVANCE", "先付 in advance"
        ARREARS = "ARREARS", "后付 in arrears"

    class Escalation(models.TextChoices):
        NONE = "NONE", "不递增 none"
        PERCENT = "PERCENT", "按比例递增 fixed % a year"
        STEP = "STEP", "定额递增 fixed step a year"

    class PassThrough(models.TextChoices):
        TENANCY = "TENANCY", "按租户均摊 by tenancy"
        RATIO = "RATIO", "按约定比例 by agreed ratio"
        TOWER = "TOWER", "铁塔承担 borne by the tower"

    contract_no = models.CharField("合同编号 contract no", max_length=40, unique=True)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="rent_contracts")
    landlord = models.ForeignKey(Landlord, on_delete=models.PROTECT, related_name="contracts",
                                 null=True, blank=True)
    start_date = models.DateField("起租日 start date")
    end_date = models.DateField("到期日 end date")
    terminated_on = models.DateField("终止日 terminated on", null=True, blank=True)
    annual_rent = money("年租金 annual rent")
    cycle = models.CharField("付款周期 payment cycle", max_length=10, choices=Cycle.choices,
                             default=Cycle.YEARLY)
    timing = models.CharField("付款时点 timing", max_length=8, choices=Timing.choices,
                              default=Timing.ADVANCE)
    escalation = models.CharField("递增方式 escalation", max_length=8, choices=Escalation.choices,
                                  default=Escalation.NONE)
    escalation_pct = models.DecimalField("年递增率% escalation %", max_digits=7, decimal_places=4,
                                         default=0)
    escalation_step = money("年递增额 escalation step", default=0)
    deposit = money("押金 deposit", default=0)
    pass_through = models.CharField("分摊方式 pass-through", max_length=8,
                                    choices=PassThrough.choices, default=PassThrough.TENANCY)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["contract_no"]
        indexes = [models.Index(fields=["site", "end_date"])]

    def __str__(self):
        return self.contract_no

    @property
    def last_day(self):
        """The contract's last day in force (its termination, or its end)."""
        return min(self.terminated_on, self.end_date) if self.terminated_on else self.end_date


class ScheduleItem(models.Model):
    contract = models.ForeignKey(RentContract, on_delete=models.CASCADE, related_name="items")
    seq = models.PositiveIntegerField("期次 no")
    period_start = models.DateField("起 from")
    period_end = models.DateField("止 to")
    due_date = models.DateField("应付日 due")
    amount = money("应付金额 amount")
    year = models.PositiveSmallIntegerField("合同年度 contract year", default=1)
    annual_rent = money("当年年租金 annual rent of the year", default=0)
    cancelled = models.BooleanField("已取消 cancelled", default=False)

    class Meta:
        ordering = ["contract", "seq"]
        constraints = [models.UniqueConstraint(fields=["contract", "seq"],
                                               name="uniq_rent_schedule_seq")]
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self):
        return f"{self.contract.contract_no}#{self.seq}"


class RentPayment(models.Model):
    class Kind(models.TextChoices):
        RENT = "RENT", "租金 rent"
        DEPOSIT = "DEPOSIT", "押金 deposit"

    payment_no = models.CharField("付款编号 payment no", max_length=40, unique=True)
    contract = models.ForeignKey(RentContract, on_delete=models.PROTECT, related_name="payments")
    item = models.OneToOneField(ScheduleItem, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="payment")
    kind = models.CharField("类型 kind", max_length=8, choices=Kind.choices, default=Kind.RENT)
    amount = money("金额 amount")
    paid_date = models.DateField("付款日 paid date")
    reference = models.CharField("凭证号 reference", max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-paid_date", "payment_no"]

    def __str__(self):
        return self.payment_no


class RentLine(models.Model):
    """A RENT line pushed for a payment (one per party): the program's mapping row."""
    payment = models.ForeignKey(RentPayment, on_delete=models.PROTECT, related_name="lines")
    line = models.OneToOneField("settlement.Line", on_delete=models.PROTECT, related_name="+")
    tenancy = models.ForeignKey("sites.Tenancy", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["payment", "tenancy"],
                                               name="uniq_rent_line_party"),
                       models.UniqueConstraint(fields=["payment"],
                                               condition=models.Q(tenancy__isnull=True),
                                               name="uniq_rent_line_tower")]


class SiteFeeAgreement(models.Model):
    tenancy = models.ForeignKey("sites.Tenancy", on_delete=models.PROTECT,
                                related_name="site_fee_agreements")
    monthly_fee = money("月场地费 monthly fee")
    effective_from = models.DateField("生效日 effective from")
    effective_to = models.DateField("失效日 effective to", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["tenancy", "effective_from"]
        constraints = [models.UniqueConstraint(fields=["tenancy", "effective_from"],
                                               name="uniq_site_fee_from")]


class SiteFeeLine(models.Model):
    agreement = models.ForeignKey(SiteFeeAgreement, on_delete=models.PROTECT, related_name="lines")
    month = models.DateField()
    line = models.OneToOneField("settlement.Line", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agreement", "month"],
                                               name="uniq_site_fee_month")]


class RentFinding(models.Model):
    """稽核发现: the contract's annual rent is far above the city's median (benchmark)."""
    contract = models.ForeignKey(RentContract, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=20, default="ABOVE_BENCHMARK")
    annual_rent = money("年租金 annual rent")
    median = money("地市中位数 city median")
    ratio = models.DecimalField("倍数 ratio", max_digits=9, decimal_places=4)
    threshold = models.DecimalField("阈值% threshold", max_digits=7, decimal_places=2)
    found_on = models.DateField()
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-ratio"]
        constraints = [models.UniqueConstraint(fields=["contract", "kind"],
                                               name="uniq_rent_finding")]


class RentMonth(models.Model):
    """The month's rent figures of one city, stored by the close (month_snapshots)."""
    month = models.DateField()
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, related_name="+")
    paid = money("付租 rent paid", default=0)
    passed_through = money("转嫁 passed through", default=0)
    borne = money("自担 borne by the tower", default=0)
    overdue = money("逾期未付 overdue", default=0)
    overdue_items = models.PositiveIntegerField(default=0)
    site_fees = money("场地费包干 site fees", default=0)
    site_fee_rent = money("包干站点租金 rent of lump-sum sites", default=0)
    site_fee_gap = money("包干差额 gap borne", default=0)

    class Meta:
        ordering = ["month", "city"]
        constraints = [models.UniqueConstraint(fields=["month", "city"],
                                               name="uniq_rent_month_city")]
