"""The demo never overwrites an existing database's users (issue 17): `towerledger demo`
creates the demo users that are absent, says which were already there, and leaves their
passwords, roles and flags as they were."""

import os
import subprocess
import sys
from pathlib import Path

from django.contrib.auth import authenticate, get_user_model

from tests.conftest import make_user
from towerledger.access.models import Profile, Role
from towerledger.synth.demo import ensure_demo_users

TOWERLEDGER = Path(sys.executable).parent / "towerledger"


def test_existing_users_keep_their_password_role_and_flags(province):
    own = make_user("admin", Role.VIEWER, password="Their-Own-Pass-1")
    users = {u.username: u for u in ensure_demo_users()}
    assert not users["admin"].created
    assert all(u.created for name, u in users.items() if name != "admin")
    own.refresh_from_db()
    assert not own.is_staff and not own.is_superuser
    assert Profile.objects.get(user=own).role == Role.VIEWER
    assert authenticate(username="admin", password="Their-Own-Pass-1") is not None
    assert authenticate(username="admin", password="admin-Demo-2026") is None
    assert authenticate(username="clerk", password="clerk-Demo-2026") is not None

    # a second run creates nothing and changes nothing
    get_user_model().objects.filter(username="clerk").update(is_active=False)
    before = list(get_user_model().objects.order_by("pk").values())
    assert not any(u.created for u in ensure_demo_users())
    assert list(get_user_model().objects.order_by("pk").values()) == before


def run(data: Path, *args) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(data), "TOWERLEDGER_DATA": str(data),
           "COLUMNS": "200"}  # the embedded SQLite file, whatever database the tests use
    done = subprocess.run([str(TOWERLEDGER), *args], env=env, cwd=data, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_demo_command_on_an_existing_database_resets_no_password(tmp_path):
    first = run(tmp_path, "demo", "--no-serve", "--sites", "20", "--months", "1")
    assert "admin-Demo-2026" in first.stdout + first.stderr
    change = ("from django.contrib.auth import get_user_model as U; "
              "u = U().objects.get(username='admin'); u.set_password('Changed-In-Use-9'); "
              "u.save()")
    run(tmp_path, "django", "shell", "-c", change)
    again = run(tmp_path, "demo", "--no-serve")
    said = again.stdout + again.stderr
    assert "demo data already built" in said and "already there, left unchanged" in said
    assert "admin-Demo-2026" not in said
    check = ("from django.contrib.auth import authenticate as a; "
             "print(a(username='admin', password='Changed-In-Use-9') is not None, "
             "a(username='admin', password='admin-Demo-2026') is not None)")
    assert run(tmp_path, "django", "shell", "-c", check).stdout.split()[-2:] == ["True", "False"]
