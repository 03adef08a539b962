from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from tests.helpers import build_province
from tests.snapshot import RowSnapshot
from towerledger.access.models import Profile, Role
from towerledger.org.models import City, Operator

# Tests in these folders touch no database (pure functions, hypothesis): `make test` runs
# them in its SQLite pass only (Makefile, NO_DB_TESTS). One that asks for the database would
# then never meet PostgreSQL, so it is refused here: it belongs in another folder.
NO_DATABASE = ("domain", "unit", "reference")
DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup"}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(here).parts if item.path.is_relative_to(here) else ()
        if parts and parts[0] in NO_DATABASE and (
                item.get_closest_marker("django_db")
                or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))):
            raise pytest.UsageError(
                f"{item.nodeid} uses the database: tests/{parts[0]} holds tests that touch "
                "none (make test runs them on SQLite only); move it to tests/integration")


# The province's rows as the real imports write them: imported for real by the first test of
# each test process that asks for it, then put back row for row (tests/snapshot.py).
PROVINCE = RowSnapshot(build_province)


@pytest.fixture
def province(db, tmp_path):
    PROVINCE.apply(tmp_path / "master")


_HASHES: dict = {}


def password_hash(password: str) -> str:
    """The hash of ``password`` by the project's own first hasher (PBKDF2, a million rounds:
    about a second each), made once per test process and shared by every user given that
    password. A login still checks the password against it the full way."""
    key = (password, tuple(settings.PASSWORD_HASHERS))
    if key not in _HASHES:
        _HASHES[key] = make_password(password)
    return _HASHES[key]


def make_user(username, role, city=None, operator=None, password="pw-Secret-123"):
    user = get_user_model().objects.create_user(username)   # no password yet: no hashing
    user.password = password_hash(password)
    user.save(update_fields=["password"])
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
