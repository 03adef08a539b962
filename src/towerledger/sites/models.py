"""Master data: sites (站址), tenancies (租户服务), supply accounts (电表户号/报账点),
their site splits, dated allocation rules and the tax-factor table (税负因子)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from towerledger.domain.codes import (
    CommonPolicy,
    InvoiceType,
    Method,
    SettlementMode,
    SiteStatus,
    SiteType,
    SupplierType,
    SupplyMode,
    choices,
)
from towerledger.org.models import County, Operator, Province


def money(verbose, **kw):
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, **kw)


class Site(models.Model):
    """站址: the unit of management, shared by 1..n tenancies."""

    site_code = models.CharField(_("site code"), max_length=40, unique=True)
    site_name = models.CharField(_("site name"), max_length=120)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="sites")
    site_type = models.CharField(_("site type"), max_length=8, choices=choices(SiteType))
    host_site = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="hosted_sites"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=choices(SiteStatus), default=SiteStatus.ACTIVE
    )
    decommission_date = models.DateField(_("decommission date"), null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["site_code"]

    def __str__(self):
        return f"{self.site_code} {self.site_name}"


class Tenancy(models.Model):
    """租户服务 / 订单: one operator's service on one site, 起租 to 服务终止 (inclusive)."""

    tenancy_id = models.CharField(_("tenancy id"), max_length=40, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="tenancies")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="tenancies")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    settlement_mode = models.CharField(
        _("settlement mode"), max_length=10, choices=choices(SettlementMode)
    )
    lump_sum_monthly = money(_("lump sum monthly"), null=True, blank=True)
    rated_power_w = models.DecimalField(
        _("rated power (W)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    dc_current_a = models.DecimalField(
        _("DC current (A)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    # the ratio in force from the latest dated row of ``ratios`` (TenancyRatio): kept here
    # for pages, the API and the export; the allocation reads the dated history
    agreed_ratio = models.DecimalField(
        _("agreed ratio (%)"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        verbose_name = _("tenancy")
        verbose_name_plural = _("tenancies")
        ordering = ["tenancy_id"]
        indexes = [models.Index(fields=["site", "operator"])]

    def __str__(self):
        return self.tenancy_id


class TenancyRatio(models.Model):
    """约定分摊比例: a tenancy's agreed ratio (FIXED_RATIO) from ``effective_from`` until its
    next row — one ratio in force per day, like the site's AllocationRule. A change is a new
    dated row; it never rewrites a pushed line (the allocation reads the history per day)."""

    tenancy = models.ForeignKey(Tenancy, on_delete=models.CASCADE, related_name="ratios")
    effective_from = models.DateField(_("effective from"))
    agreed_ratio = models.DecimalField(_("agreed ratio (%)"), max_digits=9, decimal_places=6)

    class Meta:
        verbose_name = _("agreed ratio")
        verbose_name_plural = _("agreed ratios")
        constraints = [
            models.UniqueConstraint(fields=["tenancy", "effective_from"], name="uniq_ratio")
        ]
        ordering = ["tenancy", "effective_from"]


class SupplyAccount(models.Model):
    """电表户号 / 报账点: the meter or contract a bill is paid against."""

    account_no = models.CharField(_("account no"), max_length=40, unique=True)
    supply_mode = models.CharField(_("supply mode"), max_length=10, choices=choices(SupplyMode))
    supplier_type = models.CharField(
        _("supplier type"), max_length=12, choices=choices(SupplierType)
    )
    supplier_name = models.CharField(_("supplier name"), max_length=120, blank=True)
    input_invoice_type = models.CharField(
        _("input invoice type"), max_length=12, choices=choices(InvoiceType)
    )
    contract_price = models.DecimalField(
        _("contract price"), max_digits=8, decimal_places=4, null=True, blank=True
    )
    price_cap = models.DecimalField(
        _("price cap"), max_digits=8, decimal_places=4, null=True, blank=True
    )
    payment_cycle_months = models.PositiveSmallIntegerField(_("payment cycle (months)"), default=1)
    multiplier = models.DecimalField(_("multiplier"), max_digits=10, decimal_places=2, default=1)
    # 电费包干: the landlord charges a fixed fee; bills carry no kWh
    lump_sum = models.BooleanField(_("lump-sum supply"), default=False)
    sites = models.ManyToManyField(Site, through="AccountSite", related_name="accounts")

    class Meta:
        verbose_name = _("supply account")
        verbose_name_plural = _("supply accounts")
        ordering = ["account_no"]

    def __str__(self):
        return self.account_no


class SupplyTerms(models.Model):
    """供电条件（按日期）: the account's supply mode, supplier type, input invoice type and
    contract price from ``effective_from`` until its next row (DOMAIN.md §7: dated master
    data). The row without a date holds the terms the account had before its first dated
    row. An account without rows is judged by its own fields on every day; with rows, by
    them only (``sites.terms`` is the one lookup; ``domain.supply_terms`` the rule). The
    account's own fields are kept as the terms in force today."""

    account = models.ForeignKey(SupplyAccount, on_delete=models.CASCADE, related_name="terms")
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    supply_mode = models.CharField(_("supply mode"), max_length=10, choices=choices(SupplyMode))
    supplier_type = models.CharField(
        _("supplier type"), max_length=12, choices=choices(SupplierType)
    )
    input_invoice_type = models.CharField(
        _("input invoice type"), max_length=12, choices=choices(InvoiceType)
    )
    contract_price = models.DecimalField(
        _("contract price"), max_digits=8, decimal_places=4, null=True, blank=True
    )
    source = models.CharField(_("source"), max_length=80, blank=True)   # e.g. the project
    reason = models.CharField(_("reason"), max_length=400, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("supply terms")
        verbose_name_plural = _("supply terms")
        constraints = [
            models.UniqueConstraint(fields=["account", "effective_from"],
                                    name="uniq_supply_terms"),
            models.UniqueConstraint(fields=["account"], condition=models.Q(
                effective_from__isnull=True), name="uniq_supply_terms_original"),
        ]
        ordering = ["account", models.F("effective_from").asc(nulls_first=True)]


class AccountSite(models.Model):
    """One site fed by an account, with its share of the bill (split ratios sum to 100)."""

    account = models.ForeignKey(SupplyAccount, on_delete=models.CASCADE, related_name="splits")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="account_splits")
    split_ratio = models.DecimalField(_("split ratio (%)"), max_digits=9, decimal_places=6)

    class Meta:
        verbose_name = _("account site split")
        verbose_name_plural = _("account site splits")
        constraints = [
            models.UniqueConstraint(fields=["account", "site"], name="uniq_account_site")
        ]


class AllocationRule(models.Model):
    """分摊规则: the site's method, in force from ``effective_from`` until the next rule."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rules")
    effective_from = models.DateField(_("effective from"))
    method = models.CharField(_("method"), max_length=12, choices=choices(Method))
    fallback_method = models.CharField(
        _("fallback method"), max_length=12, choices=choices(Method), default=Method.EQUAL
    )
    common_policy = models.CharField(
        _("common policy"), max_length=12, choices=choices(CommonPolicy),
        default=CommonPolicy.PRO_RATA,
    )
    tower_share = models.DecimalField(
        _("tower share (%)"), max_digits=9, decimal_places=6, default=0
    )

    class Meta:
        verbose_name = _("allocation rule")
        verbose_name_plural = _("allocation rules")
        constraints = [
            models.UniqueConstraint(fields=["site", "effective_from"], name="uniq_rule")
        ]
        ordering = ["site", "effective_from"]


class TaxFactorRate(models.Model):
    """税负因子表: one dated row of the tax-factor table (DOMAIN.md §3).

    A row names what it applies to — a supply account, an operator, a province, a supply
    type, an invoice type, each or "any" (null / blank) — and the factor from its
    ``effective_from``; a row without a factor ends the earlier rows of the same key. Rows
    are never rewritten once in force: a change is a new dated row. Which row wins is
    ``domain.tax.TaxFactorTable`` (the one lookup; ``sites.tax_factors`` loads it).
    """

    effective_from = models.DateField(_("effective from"))
    province = models.ForeignKey(Province, on_delete=models.PROTECT, null=True, blank=True)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, null=True, blank=True)
    account = models.ForeignKey(SupplyAccount, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="tax_factor_rates")
    supply_mode = models.CharField(_("supply mode"), max_length=10, choices=choices(SupplyMode),
                                   blank=True, default="")
    invoice_type = models.CharField(_("invoice type"), max_length=12, choices=choices(InvoiceType),
                                    blank=True, default="")
    # None: the row ends the key's earlier rows (an override lifted from this date)
    factor = models.DecimalField(_("tax factor"), max_digits=7, decimal_places=4, null=True,
                                 blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("tax factor")
        verbose_name_plural = _("tax factors")
        constraints = [
            models.UniqueConstraint(
                fields=["effective_from", "province", "operator", "account", "supply_mode",
                        "invoice_type"],
                name="uniq_tax_factor_row",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=models.Q(factor__isnull=True) | models.Q(factor__gte=0),
                name="tax_factor_not_negative"),
        ]
        ordering = ["effective_from", "id"]
