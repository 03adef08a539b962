"""People and access (人员与权限): create, edit and deactivate users with a role and scope,
and reset their passwords. Every change is one transaction with one audit entry.

Scope rules (access/models.Profile): a city clerk has a city; an operator user has an
operator and optionally a city; a province admin and a viewer have neither. Passwords go
through Django's validators (settings.AUTH_PASSWORD_VALIDATORS). A password the service
makes up is returned once, for the admin to hand over, and never stored in clear.

Cities and operators are passed as rows or ids: access sits below org in the layers, so it
names them only through the Profile's foreign keys.
"""

import secrets
import string

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from towerledger.access.audit import record
from towerledger.access.models import Profile, Role
from towerledger.domain.errors import DomainError, ErrorCode

# no look-alikes (0/O, 1/l/I): a generated password is read out or copied by hand
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
GENERATED_LENGTH = 14


def generate_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))


def _id(value):
    return getattr(value, "pk", value) or None


def _check_scope(role, city_id, operator_id):
    if role not in Role.values:
        raise DomainError(f"未知角色：{role}", f"unknown role: {role}")
    if role == Role.CITY_CLERK and not city_id:
        raise DomainError("地市电费专员必须指定地市", "a city clerk needs a city")
    if role == Role.CITY_CLERK and operator_id:
        raise DomainError("地市电费专员不属于运营商", "a city clerk has no operator")
    if role == Role.OPERATOR and not operator_id:
        raise DomainError("运营商用户必须指定运营商", "an operator user needs an operator")
    if role in (Role.PROVINCE_ADMIN, Role.VIEWER) and (city_id or operator_id):
        raise DomainError("省公司管理员和只读用户看全省，不指定地市或运营商",
                          "a province admin or viewer sees the whole province: "
                          "no city or operator")


def _check_password(password, user):
    try:
        validate_password(password, user)
    except ValidationError as exc:
        # the validators' messages follow the active language; both are asked for here
        raise DomainError("密码不符合要求：" + " ".join(exc.messages),
                          "the password is not accepted: " + " ".join(exc.messages)) from None


def snapshot(user) -> dict:
    """What the audit log keeps of a user: never the password."""
    p = getattr(user, "profile", None)
    return {"username": user.username, "name": user.get_full_name(), "email": user.email,
            "active": user.is_active, "role": p.role if p else None,
            "city": p.city.name if p and p.city_id else None,
            "operator": p.operator.code if p and p.operator_id else None}


def _last_admin(user) -> bool:
    """``user`` is the only active province admin left: nobody could manage people then."""
    others = Profile.objects.filter(role=Role.PROVINCE_ADMIN, user__is_active=True).exclude(
        user=user)
    return (getattr(getattr(user, "profile", None), "role", None) == Role.PROVINCE_ADMIN
            and not others.exists()
            and not get_user_model().objects.filter(is_superuser=True, is_active=True)
            .exclude(pk=user.pk).exists())


@transaction.atomic
def create_user(username, role, *, city=None, operator=None, password=None, name="",
                email="", by=None, reason=""):
    """A new active user with ``role`` and scope; returns ``(user, password)`` where
    ``password`` is the generated one (to show once) or None when the admin chose one."""
    username = (username or "").strip()
    User = get_user_model()
    if not username or len(username) > 150:
        raise DomainError("用户名不能为空，最长 150 个字符",
                          "a username is required, at most 150 characters")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(f"用户名已存在：{username}", f"username already taken: {username}",
                          ErrorCode.CONFLICT)
    city_id, operator_id = _id(city), _id(operator)
    _check_scope(role, city_id, operator_id)
    generated = None if password else generate_password()
    user = User(username=username, email=(email or "").strip())
    user.first_name = (name or "").strip()[:150]
    _check_password(password or generated, user)
    user.set_password(password or generated)
    user.save()
    # a password somebody else chose (the admin's, or generated for them) is changed by its
    # user at the first login; the installer's own, made from the command line, is not
    Profile.objects.create(user=user, role=role, city_id=city_id, operator_id=operator_id,
                           must_change_password=by is not None)
    user = User.objects.select_related("profile__city", "profile__operator").get(pk=user.pk)
    record(by, "user.create", "user", user.username, after=snapshot(user), reason=reason)
    return user, generated


@transaction.atomic
def update_user(user, *, role=None, city=None, operator=None, name=None, email=None,
                by=None, reason=""):
    """Change role, scope, name or e-mail (None: unchanged; for city and operator pass
    ``""`` to clear). The scope must fit the role afterwards."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    profile, _ = Profile.objects.get_or_create(user=user, defaults={"role": Role.VIEWER})
    before = snapshot(user)
    new_role = role or profile.role
    if new_role != Role.PROVINCE_ADMIN and _last_admin(user):
        raise DomainError("不能取消最后一位省公司管理员的角色",
                          "the last province admin cannot lose the role", ErrorCode.CONFLICT)
    profile.role = new_role
    if city is not None:
        profile.city_id = _id(city)
    if operator is not None:
        profile.operator_id = _id(operator)
    if new_role in (Role.PROVINCE_ADMIN, Role.VIEWER):
        profile.city_id = profile.operator_id = None   # whole province: a stale scope would mislead
    if new_role == Role.CITY_CLERK:
        profile.operator_id = None
    _check_scope(new_role, profile.city_id, profile.operator_id)
    if name is not None:
        user.first_name = name.strip()[:150]
    if email is not None:
        user.email = email.strip()
    user.save(update_fields=["first_name", "email"])
    profile.save()
    user = get_user_model().objects.select_related(
        "profile__city", "profile__operator").get(pk=user.pk)
    after = snapshot(user)
    if after != before:
        record(by, "user.update", "user", user.username, before=before, after=after,
               reason=reason)
    return user


@transaction.atomic
def set_active(user, active: bool, *, by=None, reason=""):
    """Deactivate (the user can no longer log in, and their API tokens stop working) or
    reactivate. Nobody deactivates themselves or the last province admin."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if user.is_active == active:
        return user
    if not active and by is not None and getattr(by, "pk", None) == user.pk:
        raise DomainError("不能停用自己的账号", "you cannot deactivate yourself",
                          ErrorCode.CONFLICT)
    if not active and _last_admin(user):
        raise DomainError("不能停用最后一位省公司管理员", "the last province admin cannot be "
                          "deactivated", ErrorCode.CONFLICT)
    if not active and not (reason or "").strip():
        raise DomainError("停用账号需填写原因", "deactivating a user needs a reason")
    user.is_active = active
    user.save(update_fields=["is_active"])
    record(by, "user.deactivate" if not active else "user.reactivate", "user", user.username,
           before={"active": not active}, after={"active": active}, reason=reason)
    return user


def deactivate_user(user, *, by=None, reason=""):
    return set_active(user, False, by=by, reason=reason)


@transaction.atomic
def reset_password(user, password=None, *, by=None, reason=""):
    """A new password: ``password`` as the admin typed it, or a generated one, returned
    (shown once). The old one stops working at once."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    generated = None if password else generate_password()
    _check_password(password or generated, user)
    user.set_password(password or generated)
    user.save(update_fields=["password"])
    if by is not None and by.pk != user.pk:   # chosen by somebody else: changed at next login
        Profile.objects.filter(user=user).update(must_change_password=True)
    # the log says that it changed and how it was chosen, never the password
    record(by, "user.reset_password", "user", user.username,
           after={"generated": generated is not None}, reason=reason)
    return generated


@transaction.atomic
def change_own_password(user, old_password: str, new_password: str) -> None:
    """The user's own new password (修改密码): the old one must be right and the new one
    pass the validators and differ from it; clears the must-change mark; logged without
    either password."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password or ""):
        raise DomainError("原密码不正确", "the current password is wrong", ErrorCode.INVALID)
    if old_password == new_password:
        raise DomainError("新密码不能与原密码相同", "the new password must differ from the old one",
                          ErrorCode.INVALID)
    _check_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    Profile.objects.filter(user=user).update(must_change_password=False)
    record(user, "user.change_password", "user", user.username, after={"by": "self"},
           reason="本人修改密码 changed by the user")
