"""转改直 (resupply → direct supply): the direct catalogue price per province (dated), the
default conversion cost per site type, projects per account with their steps and
attachments."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from towerledger.domain import conversion as rules
from towerledger.domain.codes import InvoiceType, SiteType, choices
from towerledger.org.models import Province
from towerledger.sites.models import SupplyAccount


def money(verbose, **kw):
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, **kw)


def price(verbose, **kw):
    return models.DecimalField(verbose, max_digits=8, decimal_places=4, **kw)


class DirectPrice(models.Model):
    """直供目录电价: the direct-supply catalogue price of a province from ``effective_from``
    until its next row (no row: ``domain.conversion.DEFAULT_DIRECT_PRICE``)."""

    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField(_("effective from"))
    price = price(_("direct price"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("direct catalogue price")
        constraints = [models.UniqueConstraint(fields=["province", "effective_from"],
                                               name="uniq_direct_price")]
        ordering = ["province", "effective_from"]


class CostDefault(models.Model):
    """改造费用默认值: the estimated conversion cost of an account feeding a site of this
    type, when nobody entered an estimate (no row: ``domain.conversion.DEFAULT_COST``)."""

    site_type = models.CharField(_("site type"), max_length=8, choices=choices(SiteType),
                                 unique=True)
    cost = money(_("estimated cost"))


class Project(models.Model):
    """转改直项目: one account's conversion, submitted → approved → built → done / failed."""

    Status = models.TextChoices("Status", [(s, s) for s in rules.STATES])

    code = models.CharField(_("project code"), max_length=40, unique=True)
    account = models.ForeignKey(SupplyAccount, on_delete=models.PROTECT,
                                related_name="conversion_projects")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=rules.SUBMITTED, db_index=True)
    estimated_cost = money(_("estimated cost"))
    actual_cost = money(_("actual cost"), null=True, blank=True)
    price_before = price(_("price before"))
    direct_price = price(_("direct price"))
    new_invoice_type = models.CharField(_("invoice type after"), max_length=12,
                                        choices=choices(InvoiceType),
                                        default=InvoiceType.SPECIAL_13)
    yearly_kwh = models.DecimalField(_("yearly kWh"), max_digits=14, decimal_places=2,
                                     default=0)
    projected_monthly = money(_("projected monthly savings"), default=0)
    submitted_on = models.DateField(_("submitted on"))
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    built_on = models.DateField(_("built on"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    failed_on = models.DateField(_("failed on"), null=True, blank=True)
    # the account as it was before the conversion (restored nowhere: the record of it)
    before = models.JSONField(default=dict, blank=True)
    note = models.CharField(_("note"), max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("conversion project")
        constraints = [
            # one live (or done) project per account; a failed one may be followed by another
            models.UniqueConstraint(fields=["account"], condition=~Q(status="FAILED"),
                                    name="uniq_live_conversion"),
        ]
        ordering = ["-submitted_on", "code"]

    def __str__(self):
        return self.code

    @property
    def cost(self):
        return self.actual_cost if self.actual_cost is not None else self.estimated_cost


class Step(models.Model):
    """One step of a project: who, when, why."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=12)
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    on = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                           blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=400)

    class Meta:
        ordering = ["project", "at", "id"]


class Attachment(models.Model):
    """A file on a project (approval, completion certificate …), content-checked."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="conversion/%Y/%m/")
    name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "at", "id"]


class Estimate(models.Model):
    """An entered estimate of an account's conversion cost (beats the site type's default
    in the candidates' ranking until a project carries its own)."""

    account = models.OneToOneField(SupplyAccount, on_delete=models.CASCADE,
                                   related_name="conversion_estimate")
    cost = money(_("estimated cost"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                           blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)


class Ranking(models.Model):
    """转改直候选排名: the candidates ranked as of a day, stored so the page reads it page by
    page (the whole ranking is seconds of work at 100,000 accounts). The month close stores
    its month's (as of the month end); a province admin may recompute it as of today. An
    estimate, a project submitted, failed or done updates its account's row at once."""

    as_of = models.DateField(_("as of"), unique=True)
    computed_at = models.DateTimeField(default=timezone.now)
    accounts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-as_of"]


class RankedCandidate(models.Model):
    """One account's row of a ranking: the inputs of its figure as of the ranking's day
    (``report.candidate_rows``, the one rule: yearly kWh × price gap − cost)."""

    ranking = models.ForeignKey(Ranking, on_delete=models.CASCADE, related_name="rows")
    account = models.ForeignKey(SupplyAccount, on_delete=models.CASCADE, related_name="+")
    account_no = models.CharField(max_length=40)
    supplier_name = models.CharField(max_length=120, blank=True)
    invoice_type = models.CharField(max_length=12, blank=True)
    city = models.CharField(max_length=60, blank=True)
    site_code = models.CharField(max_length=40, blank=True)
    site_type = models.CharField(max_length=8, blank=True)
    yearly_kwh = models.DecimalField(max_digits=14, decimal_places=2)
    current_price = price(_("current price"), null=True, blank=True)
    direct_price = price(_("direct price"))
    cost = money(_("cost"))
    cost_source = models.CharField(max_length=10)
    figure = money(_("figure"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ranking", "account"],
                                               name="uniq_ranked_candidate")]
        indexes = [models.Index(fields=["ranking", "-figure", "account_no"],
                                name="ranked_candidate_order")]
