"""Create, revoke and check API tokens. Creating and revoking are recorded in the audit log."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.api.models import ApiToken

PREFIX = "tl_"
# last_used_at is refreshed at most this often, so a busy client does not write on every call
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_token(owner, name: str, by=None) -> tuple[ApiToken, str]:
    """A new token for ``owner``; returns the row and the token, which is never shown again."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=owner, name=name, token_hash=hash_token(raw),
                                    prefix=raw[:len(PREFIX) + 6])
    record(by, "api_token.create", "api_token", token.pk,
           after={"user": owner.username, "name": name, "prefix": token.prefix})
    return token, raw


@transaction.atomic
def revoke_token(token_id: int, by=None, reason: str = "") -> ApiToken:
    """Revoke a token (idempotent: revoking a revoked token changes nothing)."""
    token = ApiToken.objects.select_for_update().get(pk=token_id)
    if not token.revoked:
        token.revoked, token.revoked_at = True, timezone.now()
        token.save(update_fields=["revoked", "revoked_at"])
        record(by, "api_token.revoke", "api_token", token.pk, before={"revoked": False},
               after={"revoked": True, "user": token.user.username, "name": token.name},
               reason=reason)
    return token


def user_for_token(raw: str):
    """The active user behind a live token, or None (unknown, revoked, inactive user)."""
    token = (ApiToken.objects.select_related("user", "user__profile")
             .filter(token_hash=hash_token(raw), revoked=False).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
