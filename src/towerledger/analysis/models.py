"""月结与月度分析: the month's close and its KPI snapshots at every scope.

A snapshot row holds the numerators and denominators (amounts and counts) of every KPI
for one month, one scope (province, city, county or site, by key) and one operator ("*"
for all operators), so pages and reports read rates without replaying history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CloseJob(models.Model):
    """A month close started from the web: the progress its page polls, and why it stopped.

    The close's own record (which steps are done, the lock) is ``ledger.MonthClose``; this
    row is one attempt at it, so a failed attempt and the next one are told apart."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", pgettext_lazy("close job", "Queued")
        RUNNING = "RUNNING", pgettext_lazy("close job", "Running")
        DONE = "DONE", pgettext_lazy("close job", "Done")
        FAILED = "FAILED", pgettext_lazy("close job", "Failed")

    month = models.DateField(_("month"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    step = models.CharField(max_length=20, blank=True)      # the step running or that failed
    done = models.PositiveSmallIntegerField(default=0)      # steps finished
    total = models.PositiveSmallIntegerField(default=0)     # steps in all
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)                  # the error, Chinese / English
    errors = models.JSONField(default=list, blank=True)     # the first problems found
    error_count = models.PositiveIntegerField(default=0)    # problems in all

    class Meta:
        verbose_name = _("month close run")
        verbose_name_plural = _("month close runs")
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class Snapshot(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "PROVINCE", _("Province")
        CITY = "CITY", _("City")
        COUNTY = "COUNTY", _("County")
        SITE = "SITE", _("Site")

    month = models.DateField(_("month"))
    level = models.CharField(max_length=8, choices=Level.choices)
    key = models.CharField(max_length=60)            # province/city/county name, site code
    parent = models.CharField(max_length=60, blank=True)   # the city of a county or site
    operator = models.CharField(max_length=8, default="*")
    figures = models.JSONField(default=dict)         # name -> number (amounts as strings)

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        constraints = [models.UniqueConstraint(fields=["month", "level", "key", "operator"],
                                               name="uniq_snapshot")]
        indexes = [models.Index(fields=["month", "level", "operator"]),
                   models.Index(fields=["level", "key", "operator", "month"])]


class ProvisionalMonth(models.Model):
    """A month not yet closed whose snapshots were computed live (暂定): the dashboard
    shows them marked provisional, with the day they are as of. The month's close replaces
    its snapshots and deletes this row."""

    month = models.DateField(_("month"), unique=True)
    as_of = models.DateField(_("as of"))
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("provisional month")
        verbose_name_plural = _("provisional months")



# ---- rollups the pages read (analysis.rollups keeps them, by database triggers) ------------
#
# Kept up to date inside the same transaction as every change of a line or a write-off, by
# triggers analysis.rollups installs (migration 0004), so a page never sums a province's
# history per request and the figures are always exactly the lines' own. Read-only for
# Python: nothing but the triggers (and ``rollups.rebuild``) writes them.

def _amount():
    return models.DecimalField(max_digits=16, decimal_places=2, default=0)


class StatementPaid(models.Model):
    """What receipts have written off of a statement's lines (its live applications):
    ``collection.services.statement_paid`` kept per statement."""

    statement = models.OneToOneField("collection.Statement", primary_key=True,
                                     on_delete=models.DO_NOTHING, db_constraint=False,
                                     related_name="+")
    paid = _amount()


class StatementModes(models.Model):
    """A statement's lines of one settlement mode: how many, their cost shares, tax factor
    amounts and receivables, and what receipts have written off of them — the statement
    page's sums per mode, whatever the statement's size."""

    statement = models.ForeignKey("collection.Statement", on_delete=models.DO_NOTHING,
                                  db_constraint=False, related_name="+")
    mode = models.CharField(max_length=10)
    lines = models.IntegerField(default=0)
    cost_share = _amount()
    tax_amount = _amount()
    receivable = _amount()
    paid = _amount()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["statement", "mode"],
                                               name="uniq_statement_modes")]


class LedgerFigures(models.Model):
    """The site ledger's sums of one (site, month, city) over the lines of one operator
    (``op_key`` its id; 0 the tower-borne and unowned lines) or of all of them (-1)."""

    ALL = -1
    site = models.ForeignKey("sites.Site", on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    site_code = models.CharField(max_length=40)   # the site's, kept by a trigger too
    month = models.DateField()
    city = models.ForeignKey("org.City", on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    op_key = models.IntegerField()
    operator = models.ForeignKey("org.Operator", on_delete=models.DO_NOTHING, null=True,
                                 db_constraint=False, related_name="+")
    lines = models.IntegerField(default=0)
    alloc = _amount()          # cost share of the allocation lines
    tower = _amount()          # … of the tower-borne ones
    confirmed = _amount()      # receivable confirmed
    disputed = _amount()
    unconfirmed = _amount()    # pending or disputed
    current_rec = _amount()    # receivable of the current lines
    paid_off = _amount()       # written off of the current lines

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "month", "city", "op_key"],
                                               name="uniq_ledger_figures")]
        indexes = [models.Index(fields=["op_key", "-month", "site_code"],
                                name="ledger_figures_page")]


class LedgerTotals(models.Model):
    """``LedgerFigures`` summed over the sites: one (month, city, op_key)."""

    month = models.DateField()
    city = models.ForeignKey("org.City", on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    op_key = models.IntegerField()
    operator = models.ForeignKey("org.Operator", on_delete=models.DO_NOTHING, null=True,
                                 db_constraint=False, related_name="+")
    lines = models.IntegerField(default=0)
    alloc = _amount()
    tower = _amount()
    confirmed = _amount()
    disputed = _amount()
    unconfirmed = _amount()
    current_rec = _amount()
    paid_off = _amount()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "city", "op_key"],
                                               name="uniq_ledger_totals")]


class LedgerSites(models.Model):
    """How many sites have ``LedgerFigures`` rows with lines in one (month, city, op_key),
    and in one (month, op_key) over every city (``city`` NULL, ``city_key`` 0): a site
    whose lines of a month lie in two cities is one row of the ledger, not two. The site
    ledger's row count per month, so its pager never counts a province's history."""

    month = models.DateField()
    city = models.ForeignKey("org.City", on_delete=models.DO_NOTHING, null=True,
                             db_constraint=False, related_name="+")
    city_key = models.IntegerField()            # the city's id; 0: every city
    op_key = models.IntegerField()
    operator = models.ForeignKey("org.Operator", on_delete=models.DO_NOTHING, null=True,
                                 db_constraint=False, related_name="+")
    sites = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "city_key", "op_key"],
                                               name="uniq_ledger_sites")]


class LineTotals(models.Model):
    """The lines of one (month, city, operator, kind, status): how many, and their cost
    shares, tax factor amounts and receivables — the lines list's totals and its count
    per month for any filter but a site search (``op_key``: the operator's id, 0 none)."""

    month = models.DateField()
    city = models.ForeignKey("org.City", on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    op_key = models.IntegerField()
    operator = models.ForeignKey("org.Operator", on_delete=models.DO_NOTHING, null=True,
                                 db_constraint=False, related_name="+")
    kind = models.CharField(max_length=20)
    status = models.CharField(max_length=10)
    lines = models.IntegerField(default=0)
    cost_share = _amount()
    tax_amount = _amount()
    receivable = _amount()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["month", "city", "op_key", "kind", "status"], name="uniq_line_totals")]


class ChainBalance(models.Model):
    """A receivable chain (settlement.receivables) as it stands now: its version (latest
    pushed line) with that line's site, operator and city, the original's push date, the
    version's receivable and what its live write-offs add up to. Ageing as of today reads
    it when nothing is dated after today (analysis.rollups.ageing_today)."""

    chain = models.BigIntegerField(primary_key=True)    # the original line's id
    version = models.BigIntegerField()
    site = models.ForeignKey("sites.Site", on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    operator = models.ForeignKey("org.Operator", on_delete=models.DO_NOTHING, null=True,
                                 db_constraint=False, related_name="+")
    city = models.ForeignKey("org.City", on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    chain_date = models.DateField(null=True)
    latest_push = models.DateField(null=True)     # of any of its lines
    amount = _amount()
    written_off = _amount()

    class Meta:
        indexes = [models.Index(fields=["latest_push"], name="chain_balance_latest"),
                   models.Index(fields=["operator", "chain_date"],
                                condition=~models.Q(amount=models.F("written_off")),
                                name="chain_balance_open")]


class SiteOwed(models.Model):
    """What the open chains of one site owe now (``ChainBalance`` rows of an operator's
    chain with something left to write off, amount less written off): how many and how
    much, in one city (``city_key`` its id; 0 every city) and of one operator (``op_key`` its
    id; -1 every operator). Ageing by site as of today pages its rows in the database, the
    largest first, instead of grouping every open chain per request. Kept by triggers on
    ``ChainBalance`` (PostgreSQL) or beside its refresh (SQLite)."""

    ALL_CITIES, ALL_OPERATORS = 0, -1
    site = models.ForeignKey("sites.Site", on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+")   # the unique key leads
    site_code = models.CharField(max_length=40)   # the site's, kept by a trigger too
    city_key = models.IntegerField()
    op_key = models.IntegerField()
    chains = models.IntegerField(default=0)
    owed = _amount()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "city_key", "op_key"],
                                               name="uniq_site_owed")]
        indexes = [models.Index(fields=["city_key", "op_key", "-owed", "site_code"],
                                condition=~models.Q(chains=0), name="site_owed_page")]


class OwedDay(models.Model):
    """``SiteOwed`` by the chains' push date instead of their site: what the open chains
    pushed on one day owe now, per city and operator key as there. The ageing page's
    buckets and totals by site read these few rows, not every open chain."""

    chain_date = models.DateField()
    city_key = models.IntegerField()
    op_key = models.IntegerField()
    chains = models.IntegerField(default=0)
    owed = _amount()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["city_key", "op_key", "chain_date"],
                                               name="uniq_owed_day")]
