"""Create, revoke and check API tokens (接口令牌). Creating and revoking are recorded in the
audit log. Here in access, below both the pages that issue tokens and the API that takes them."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.access.models import ApiToken, Role
from towerledger.access.scope import role_of
from towerledger.domain.errors import DomainError, ErrorCode

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


def issue_token(owner, name: str, by=None) -> tuple[ApiToken, str]:
    """People and access: a token for an operator user's system (what the province admin
    hands out from the user's page or ``towerledger user token create``). Only active
    operator users get one here: a token acts with its user's whole scope, and an operator
    user's is the narrowest that other systems need."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise DomainError("令牌需要名称（用途，如 CMCC-ERP），最长 80 个字符",
                          "a token needs a name (what it is for, e.g. CMCC-ERP), "
                          "at most 80 characters")
    if not owner.is_active:
        raise DomainError("账号已停用，不能签发令牌", "the user is deactivated: no token",
                          ErrorCode.CONFLICT)
    if role_of(owner) != Role.OPERATOR:
        raise DomainError("只为运营商用户签发接口令牌", "API tokens are issued to operator "
                          "users only", ErrorCode.CONFLICT)
    return create_token(owner, name, by=by)


def tokens_of(user):
    """A user's tokens, newest first (never the tokens themselves: only their prefixes)."""
    return ApiToken.objects.filter(user=user).order_by("-id")


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
