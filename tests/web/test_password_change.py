"""A password somebody else chose (a new user, a reset) is replaced by its user at the next
login before any other page opens; a user can change their own password any time; the log
says who changed it, never the password."""

import pytest
from django.test import Client

from towerledger.access import people
from towerledger.access.models import AuditEntry, Profile, Role
from towerledger.org.models import City

pytestmark = pytest.mark.django_db


def test_a_new_user_chooses_their_own_password_first(users):
    zz = City.objects.get(name="郑州市")
    user, generated = people.create_user("new_clerk", Role.CITY_CLERK, city=zz,
                                         by=users["admin"], reason="入职")
    assert Profile.objects.get(user=user).must_change_password
    c = Client()
    assert c.login(username="new_clerk", password=generated)
    for path in ("/", "/bills/", "/lines/"):
        answer = c.get(path)
        assert answer.status_code == 302 and answer["Location"] == "/password/"
    assert "由管理员设置" in c.get("/password/").content.decode()
    # the wrong current password, or two different new ones, change nothing
    bad = c.post("/password/", {"old_password": "nope", "new_password": "Fresh-Pass-2026",
                                "new_password2": "Fresh-Pass-2026"})
    assert "原密码不正确" in bad.content.decode()
    bad = c.post("/password/", {"old_password": generated, "new_password": "Fresh-Pass-2026",
                                "new_password2": "Other-Pass-2026"})
    assert "不一致" in bad.content.decode()
    assert "常见" in c.post("/password/", {"old_password": generated,
                                          "new_password": "password123",
                                          "new_password2": "password123"}).content.decode()
    done = c.post("/password/", {"old_password": generated, "new_password": "Fresh-Pass-2026",
                                 "new_password2": "Fresh-Pass-2026"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert c.get("/").status_code == 200          # still logged in, and free to go on
    assert not Profile.objects.get(user=user).must_change_password
    assert Client().login(username="new_clerk", password="Fresh-Pass-2026")
    entry = AuditEntry.objects.filter(action="user.change_password").get()
    assert entry.object_key == "new_clerk" and "Fresh" not in str(entry.after)


def test_an_admins_reset_asks_again_but_the_installers_own_user_does_not(users):
    installer, _ = people.create_user("boss", Role.PROVINCE_ADMIN, password="Boss-Pass-2026")
    assert not Profile.objects.get(user=installer).must_change_password
    people.reset_password(users["cmcc"], by=users["admin"], reason="忘记密码")
    assert Profile.objects.get(user=users["cmcc"]).must_change_password


def test_anyone_may_change_their_own_password(users):
    c = Client()
    assert c.login(username="viewer", password="pw-Secret-123")
    assert c.get("/").status_code == 200
    page = c.get("/password/").content.decode()
    assert 'id="password-form"' in page and 'id="must-change"' not in page
    c.post("/password/", {"old_password": "pw-Secret-123", "new_password": "Viewer-Pass-2027",
                          "new_password2": "Viewer-Pass-2027"})
    assert Client().login(username="viewer", password="Viewer-Pass-2027")
