"""暂估 Accruals of a month per supply account, their site parts, the province's reversal
setting, and the general-ledger mapping (总账科目映射)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from towerledger.domain.journal import CHART


class ReverseOn(models.TextChoices):
    NEXT_MONTH = "NEXT_MONTH", "下月初冲回 next month's first day"
    BILL_ARRIVES = "BILL_ARRIVES", "账单到达时冲回 when the bill arrives"


class AccrualSetting(models.Model):
    """When a province's accruals are reversed (default: the next month's first day)."""

    province = models.OneToOneField("org.Province", on_delete=models.CASCADE,
                                    related_name="accrual_setting")
    reverse_on = models.CharField(max_length=12, choices=ReverseOn.choices,
                                  default=ReverseOn.NEXT_MONTH)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("accrual setting")


class Accrual(models.Model):
    """One account's estimate for one month, with every input of the formula."""

    month = models.DateField(_("month"), db_index=True)          # first day
    account = models.ForeignKey("sites.SupplyAccount", on_delete=models.PROTECT,
                                related_name="accruals")
    until = models.DateField()        # the month's last day, or the last site's decommissioning
    days_uncovered = models.PositiveSmallIntegerField()
    first_uncovered = models.DateField()
    basis_from = models.DateField(null=True, blank=True)
    basis_to = models.DateField(null=True, blank=True)
    basis_days = models.PositiveIntegerField(default=0)
    use_per_day = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    by_money = models.BooleanField(default=False)   # use per day in yuan (no kWh on bills)
    unit_price = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reverse_on = models.CharField(max_length=12, choices=ReverseOn.choices)
    posted_on = models.DateField(null=True, blank=True)     # None: zero, nothing posted
    reversed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("accrual")
        constraints = [models.UniqueConstraint(fields=["month", "account"],
                                               name="uniq_accrual_month_account")]
        ordering = ["month", "account__account_no"]

    @property
    def reference(self) -> str:
        return f"{self.month:%Y-%m}:{self.account.account_no}"


class AccrualPart(models.Model):
    """The accrual's part on one site (split ratio, largest remainder)."""

    accrual = models.ForeignKey(Accrual, on_delete=models.CASCADE, related_name="parts")
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+")
    split_ratio = models.DecimalField(max_digits=9, decimal_places=6)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["accrual", "site"],
                                               name="uniq_accrual_part")]


class GlMapping(models.Model):
    """A product account (journal.CHART) → the company's 科目 and auxiliary dimensions."""

    account = models.CharField(max_length=20, unique=True,
                               choices=[(a, a) for a in CHART])
    subject_code = models.CharField(_("subject code"), max_length=40, blank=True)
    subject_name = models.CharField(_("subject name"), max_length=80, blank=True)
    aux_city = models.BooleanField(default=False)
    aux_site = models.BooleanField(default=False)
    aux_operator = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("general-ledger mapping")
        ordering = ["account"]

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(d for d in ("city", "site", "operator") if getattr(self, f"aux_{d}"))
