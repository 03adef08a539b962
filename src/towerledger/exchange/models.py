"""An import run, so the page can show progress and offer the error report afterwards."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "QUEUED", _("Queued")
        RUNNING = "RUNNING", _("Running")
        DONE = "DONE", _("Done")
        FAILED = "FAILED", _("Rejected")

    kind = models.CharField(_("kind"), max_length=20)
    filename = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=40, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    error_report = models.CharField(max_length=500, blank=True)
    keep_going = models.BooleanField(default=False)
    create_org = models.BooleanField(default=False)  # may create provinces and cities
    reason = models.CharField(max_length=200, blank=True)
    errors = models.JSONField(default=list, blank=True)  # the first errors: row, column, zh, en
    # 导入预览: run as a preview (nothing stored) — ``changes`` holds what it would change
    # (exchange.preview.Preview.as_dict); confirming it starts a job on the same file
    preview = models.BooleanField(default=False)
    changes = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    # what storing led to (exchange Kind.outcome): the bills a finding holds and why, how
    # each receipt was matched — shown on the result page
    outcome = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (100 if self.finished_at else 0)


class ExportJob(models.Model):
    """A large download made outside the request (lines, bills XLSX): the page polls its
    progress and offers the file when ready. The file lives in the exports folder and goes
    with the retention purge (exchange.export.purge_exports)."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", _("Queued")
        RUNNING = "RUNNING", _("Running")
        DONE = "DONE", _("Ready")
        FAILED = "FAILED", _("Failed")

    what = models.CharField(max_length=40)        # a kind ("bills") or a page's list ("lines")
    params = models.JSONField(default=dict, blank=True)  # the page's filters, as it had them
    filename = models.CharField(max_length=120)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)    # rows written so far
    total = models.PositiveIntegerField(default=0)   # rows expected (0: not known)
    path = models.CharField(max_length=500, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.done / self.total)) if self.total else 0
