"""People and access (issue 16): the province admin creates, edits, deactivates users, resets
passwords and issues and revokes operator users' API tokens — through the services, the
pages and the audit log; nobody else reaches the pages."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import Client
from django.urls import reverse

from towerledger.access import people
from towerledger.access.models import AuditEntry, Role
from towerledger.api.tokens import issue_token, user_for_token
from towerledger.domain.errors import DomainError
from towerledger.org.models import City, Operator

pytestmark = pytest.mark.django_db


def login(user):
    c = Client()
    c.force_login(user)
    return c


def test_create_user_checks_scope_password_and_name(users):
    zz = City.objects.get(name="郑州市")
    with pytest.raises(DomainError, match="needs a city"):
        people.create_user("c1", Role.CITY_CLERK, by=users["admin"])
    with pytest.raises(DomainError, match="needs an operator"):
        people.create_user("o1", Role.OPERATOR, city=zz, by=users["admin"])
    with pytest.raises(DomainError, match="whole province"):
        people.create_user("v1", Role.VIEWER, city=zz, by=users["admin"])
    with pytest.raises(DomainError, match="password is not accepted"):
        people.create_user("c1", Role.CITY_CLERK, city=zz, password="short")
    with pytest.raises(DomainError, match="password is not accepted"):
        people.create_user("c1", Role.CITY_CLERK, city=zz, password="password123")
    with pytest.raises(DomainError, match="already taken"):
        people.create_user("ADMIN", Role.VIEWER)
    assert not get_user_model().objects.filter(username__in=["c1", "o1", "v1"]).exists()

    user, generated = people.create_user("c1", Role.CITY_CLERK, city=zz, by=users["admin"],
                                         reason="新同事")
    assert generated and len(generated) == people.GENERATED_LENGTH
    assert authenticate(username="c1", password=generated) == user
    entry = AuditEntry.objects.get(action="user.create", object_key="c1")
    assert entry.user == users["admin"] and entry.reason == "新同事"
    assert entry.after["city"] == "郑州市" and generated not in str(entry.after)


def test_edit_deactivate_and_reset(users):
    admin, clerk = users["admin"], users["clerk_zz"]
    cmcc = Operator.objects.get(code="CMCC")
    user = people.update_user(clerk, role=Role.OPERATOR, operator=cmcc, by=admin, reason="调岗")
    assert user.profile.role == Role.OPERATOR and user.profile.operator == cmcc
    entry = AuditEntry.objects.get(action="user.update")
    assert entry.before["role"] == "CITY_CLERK" and entry.after["operator"] == "CMCC"
    with pytest.raises(DomainError, match="reason"):
        people.deactivate_user(user, by=admin)
    with pytest.raises(DomainError, match="yourself"):
        people.deactivate_user(admin, by=admin, reason="x")
    with pytest.raises(DomainError, match="last province admin"):
        people.update_user(admin, role=Role.VIEWER, by=admin)
    people.deactivate_user(user, by=admin, reason="离职")
    assert authenticate(username="clerk_zz", password="pw-Secret-123") is None
    with pytest.raises(DomainError, match="not accepted"):
        people.reset_password(users["viewer"], "12345678", by=admin)
    assert people.reset_password(users["viewer"], "A-new-Passw0rd", by=admin) is None
    assert authenticate(username="viewer", password="A-new-Passw0rd") == users["viewer"]
    assert AuditEntry.objects.filter(action="user.reset_password",
                                     object_key="viewer").exists()


def test_tokens_only_for_active_operator_users(users):
    with pytest.raises(DomainError, match="operator users only"):
        issue_token(users["clerk_zz"], "ERP", by=users["admin"])
    with pytest.raises(DomainError, match="needs a name"):
        issue_token(users["cmcc"], " ", by=users["admin"])
    token, raw = issue_token(users["cmcc"], "CMCC-ERP", by=users["admin"])
    assert user_for_token(raw) == users["cmcc"]
    people.deactivate_user(users["cmcc"], by=users["admin"], reason="离职")
    assert user_for_token(raw) is None   # a deactivated user's token stops working


def test_pages_are_the_province_admins_only(users):
    for who in ("viewer", "clerk_zz", "cmcc"):
        c = login(users[who])
        assert c.get(reverse("people")).status_code == 404, who
        assert c.post(reverse("person_password", args=[users["admin"].pk]),
                      {"password": "Another-Pass-99"}).status_code == 404, who
    assert Client().get(reverse("people")).status_code == 302


def test_admin_creates_an_operator_user_and_issues_a_token(users):
    c = login(users["admin"])
    assert "cmcc" in c.get(reverse("people")).content.decode()
    cmcc = Operator.objects.get(code="CMCC")
    r = c.post(reverse("person_new"), {"username": "erp_cmcc", "role": "OPERATOR",
                                       "operator": cmcc.pk, "city": "", "password": ""})
    assert r.status_code == 200
    generated = r.context["password"]
    assert generated in r.content.decode()
    user = get_user_model().objects.get(username="erp_cmcc")
    assert authenticate(username="erp_cmcc", password=generated) == user
    # a refused form keeps the page and says why in the page's language (Chinese by default)
    r = c.post(reverse("person_new"), {"username": "x", "role": "CITY_CLERK"}, follow=True)
    assert "地市电费专员必须指定地市" in r.content.decode()
    r = c.post(reverse("person_token", args=[user.pk]), {"name": "CMCC-ERP"})
    raw = r.context["new_token"]
    assert raw in r.content.decode()
    api = Client(headers={"authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/sites").status_code == 200
    token = user.api_tokens.get()
    assert raw not in c.get(reverse("person", args=[user.pk])).content.decode()
    c.post(reverse("person_token_revoke", args=[user.pk, token.pk]), {"reason": "泄露"})
    assert api.get("/api/v1/sites").status_code == 401
    # another user's token id on this user's page is not found
    other, _ = issue_token(users["cmcc"], "X", by=users["admin"])
    assert c.post(reverse("person_token_revoke", args=[user.pk, other.pk])).status_code == 404
    r = c.post(reverse("person_active", args=[user.pk]), {"active": "0", "reason": "停用"},
               follow=True)
    assert not get_user_model().objects.get(pk=user.pk).is_active
    log = c.get(reverse("person", args=[user.pk])).content.decode()
    for action in ("user.create", "api_token.create", "api_token.revoke", "user.deactivate"):
        assert action in log
