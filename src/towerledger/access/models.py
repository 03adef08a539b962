"""Roles and scope of each user, the audit log of every change, and login throttling."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PROVINCE_ADMIN = "PROVINCE_ADMIN", _("Province admin")
    CITY_CLERK = "CITY_CLERK", _("City billing clerk")
    OPERATOR = "OPERATOR", _("Operator user")
    VIEWER = "VIEWER", _("Viewer")


class Profile(models.Model):
    """What a user may do and see: a role, and for clerks and operators a scope."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    # by name, not by import: access sits below org in the layers (docs/architecture.md)
    city = models.ForeignKey("org.City", on_delete=models.PROTECT, null=True, blank=True)
    operator = models.ForeignKey("org.Operator", on_delete=models.PROTECT, null=True, blank=True)
    # set when somebody else chose the password (a new user, a reset): the user must choose
    # their own at the next login before anything else (web.auth.PasswordChangeRequired)
    must_change_password = models.BooleanField(_("must change password"), default=False)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="CITY_CLERK") | models.Q(city__isnull=False),
                name="clerk_has_city",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="OPERATOR") | models.Q(operator__isnull=False),
                name="operator_user_has_operator",
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class AuditEntry(models.Model):
    """操作日志: who changed what, when, from what to what, and why."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    action = models.CharField(_("action"), max_length=40)
    object_type = models.CharField(_("object type"), max_length=40)
    object_key = models.CharField(_("object key"), max_length=120, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_key"])]


class LoginFailure(models.Model):
    """A failed login, kept for throttling (per username and per client address)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True)


class ApiToken(models.Model):
    """A bearer token (接口令牌) acting as ``user``; it sees exactly what that user may see.

    Kept in access, beside the users it belongs to, so the province admin's pages (web) and
    the API (api) both reach it from above; its table is still ``api_apitoken`` (it moved
    here from the api app without moving any data: migrations access 0002 / api 0002)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    # hex SHA-256 of the token; the token itself is never stored
    token_hash = models.CharField(max_length=64, unique=True)
    # the first characters of the token, so a person can tell tokens apart in a list
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        db_table = "api_apitoken"
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.user})"
