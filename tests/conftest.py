import pytest
from django.contrib.auth import get_user_model

from tests.helpers import build_province
from towerledger.access.models import Profile, Role
from towerledger.org.models import City, Operator


@pytest.fixture
def province(db, tmp_path):
    build_province(tmp_path / "master")


def make_user(username, role, city=None, operator=None, password="pw-Secret-123"):
    user = get_user_model().objects.create_user(username, password=password)
    Profile.objects.create(user=user, role=role, city=city, operator=operator)
    return user


@pytest.fixture
def users(province):
    zz = City.objects.get(name="郑州市")
    ly = City.objects.get(name="洛阳市")
    return {
        "admin": make_user("admin", Role.PROVINCE_ADMIN),
        "viewer": make_user("viewer", Role.VIEWER),
        "clerk_zz": make_user("clerk_zz", Role.CITY_CLERK, city=zz),
        "clerk_ly": make_user("clerk_ly", Role.CITY_CLERK, city=ly),
        "cmcc": make_user("cmcc", Role.OPERATOR, operator=Operator.objects.get(code="CMCC")),
        "ctcc_zz": make_user("ctcc_zz", Role.OPERATOR, city=zz,
                             operator=Operator.objects.get(code="CTCC")),
    }
