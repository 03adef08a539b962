"""Login throttling (issue 17): the Django admin's login is throttled and logged like /login/;
failures lock the account they were against and the address they came from, never other
users; behind the reverse proxy the address is the forwarded one."""

from django.test import Client, override_settings
from django.urls import reverse

from towerledger.access.models import AuditEntry, LoginFailure

PASSWORD = "pw-Secret-123"
ADMIN_LOGIN = "/admin/login/"


def post_login(client, url, username, password):
    return client.post(url, {"username": username, "password": password, "next": "/admin/"})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_admin_passwords_then_the_right_one_is_refused(users):
    users["admin"].is_staff = True
    users["admin"].save()
    attacker = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(30):
        r = post_login(attacker, ADMIN_LOGIN, "admin", "guess")
        assert r.status_code == 200 and not logged_in(attacker)
    r = post_login(attacker, ADMIN_LOGIN, "admin", PASSWORD)
    assert r.status_code == 200 and not logged_in(attacker)
    assert attacker.get("/admin/").status_code == 302  # still the login page
    # the admin's own browser, elsewhere, is refused too while the account is locked
    own = Client(REMOTE_ADDR="10.1.1.1")
    post_login(own, ADMIN_LOGIN, "admin", PASSWORD)
    assert not logged_in(own)

    failed = AuditEntry.objects.filter(action="login_failed", object_key="admin")
    assert failed.count() == 5  # LOGIN_MAX_FAILURES, then every attempt is refused unread
    assert all("10.9.9.9" in e.reason and ADMIN_LOGIN in e.reason for e in failed)
    refused = AuditEntry.objects.filter(action="login_refused", object_key="admin")
    assert refused.count() == 30 - 5 + 2


def test_an_admin_login_is_logged_like_the_login_page(users):
    users["admin"].is_staff = True  # the Django admin admits staff only
    users["admin"].save()
    c = Client(REMOTE_ADDR="10.1.1.1")
    post_login(c, ADMIN_LOGIN, "admin", "typo")
    r = post_login(c, ADMIN_LOGIN, "admin", PASSWORD)
    assert r.status_code == 302 and logged_in(c)
    entry = AuditEntry.objects.get(action="login", object_key="admin")
    assert entry.user == users["admin"] and ADMIN_LOGIN in entry.reason
    assert not LoginFailure.objects.filter(username="admin").exists()  # cleared on success


def test_one_users_failures_do_not_lock_another_user(users):
    a = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(5):
        post_login(a, reverse("login"), "clerk_zz", "wrong")
    b = Client(REMOTE_ADDR="10.0.0.2")
    r = post_login(b, reverse("login"), "clerk_ly", PASSWORD)
    assert r.status_code == 302 and logged_in(b)
    # the guessed-at account is locked for everybody, from any address
    c = Client(REMOTE_ADDR="10.0.0.3")
    r = post_login(c, reverse("login"), "clerk_zz", PASSWORD)
    assert not logged_in(c) and "登录失败次数过多" in r.content.decode()


@override_settings(TOWERLEDGER_CLIENT_IP_HEADER="X-Forwarded-For", TOWERLEDGER_TRUSTED_PROXIES=1,
                   LOGIN_MAX_FAILURES_PER_ADDRESS=6)
def test_behind_the_proxy_clients_are_throttled_by_their_forwarded_address(users):
    # every request reaches the server from the proxy (127.0.0.1); nginx appends the client
    attacker = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    for n in range(6):  # different accounts each time: the address lock is what stops it
        post_login(attacker, reverse("login"), f"guess{n}", "wrong")
    assert set(LoginFailure.objects.values_list("address", flat=True)) == {"203.0.113.5"}
    r = post_login(attacker, reverse("login"), "viewer", PASSWORD)
    assert not logged_in(attacker) and "登录失败次数过多" in r.content.decode()
    # a forged left-hand entry does not make a new address: the proxy's entry is the last
    forged = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.5")
    post_login(forged, reverse("login"), "viewer", PASSWORD)
    assert not logged_in(forged)
    # another client behind the same proxy logs in
    other = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    r = post_login(other, reverse("login"), "viewer", PASSWORD)
    assert r.status_code == 302 and logged_in(other)


@override_settings(TOWERLEDGER_CLIENT_IP_HEADER="X-Forwarded-For", TOWERLEDGER_TRUSTED_PROXIES=2)
def test_with_two_proxies_the_address_is_the_second_entry_from_the_right(users):
    c = Client(REMOTE_ADDR="10.0.0.254",
               HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.8, 10.0.0.253")
    post_login(c, ADMIN_LOGIN, "admin", "wrong")
    assert LoginFailure.objects.get().address == "203.0.113.8"
