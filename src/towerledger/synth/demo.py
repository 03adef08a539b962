"""The demo: a synthetic province imported through the real import path, and one user per
role with a known password, so each role's view can be tried at once. A user that already
exists is never touched: the demo run against a database in use changes nobody's password
or role."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count

from towerledger.access.models import Profile, Role
from towerledger.org.models import City, Operator


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    label: str
    created: bool = True  # False: the user was already there and was left as it was


def _biggest_city():
    return City.objects.annotate(n=Count("counties__sites")).order_by("-n", "name").first()


@transaction.atomic
def ensure_demo_users() -> list[DemoUser]:
    """Create the demo users that do not exist yet; returns each with whether it was made."""
    city = _biggest_city()
    cmcc = Operator.objects.get(code="CMCC")
    ctcc = Operator.objects.get(code="CTCC")
    specs = [
        ("admin", Role.PROVINCE_ADMIN, None, None, "省公司管理员 province admin"),
        ("clerk", Role.CITY_CLERK, city, None, f"{city.name}电费专员 city clerk"),
        ("cmcc", Role.OPERATOR, None, cmcc, "中国移动（全省）operator CMCC"),
        ("ctcc", Role.OPERATOR, city, ctcc, f"中国电信（{city.name}）operator CTCC"),
        ("viewer", Role.VIEWER, None, None, "查看 viewer"),
    ]
    users = []
    for username, role, scope_city, operator, label in specs:
        password = f"{username}-Demo-2026"
        if get_user_model().objects.filter(username=username).exists():
            users.append(DemoUser(username, password, role, label, created=False))
            continue
        get_user_model().objects.create_user(
            username, password=password, is_staff=role == Role.PROVINCE_ADMIN,
            is_superuser=role == Role.PROVINCE_ADMIN)
        Profile.objects.create(user=get_user_model().objects.get(username=username),
                               role=role, city=scope_city, operator=operator)
        users.append(DemoUser(username, password, role, label))
    return users
