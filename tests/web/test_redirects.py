"""Redirects only to this site (issue 17): every form or page that takes a `next=` lands on
this site when `next` names another one, and still follows a `next` that is a page here."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from tests.integration.test_settlement import lines_of, paid_may
from tests.web.test_pages import PASSWORD, login
from towerledger.settlement import services

ELSEWHERE = ["https://evil.example/", "//evil.example", "///evil.example/x",
             "https:evil.example", "javascript:alert(1)", r"/\evil.example"]


def on_this_site(response) -> bool:
    assert response.status_code == 302, response.status_code
    target = urlsplit(response.url)
    return not target.netloc and target.scheme == "" and target.path.startswith("/") \
        and not target.path.startswith(("//", "/\\"))


def test_pay_lines_confirm_and_receipt_matching_stay_on_the_site(users):
    clerk, operator = login(users["clerk_zz"]), login(users["ctcc_zz"])
    for nxt in ELSEWHERE:
        r = clerk.post(reverse("pay"), {"ids": [], "paid_date": "2024-06-03", "next": nxt})
        assert on_this_site(r) and r.url == reverse("bills"), nxt
        r = operator.post(reverse("lines_confirm"), {"next": nxt})
        assert on_this_site(r) and r.url == reverse("lines"), nxt
        r = clerk.post(reverse("receipts_match"), {"next": nxt})
        assert on_this_site(r) and r.url == reverse("receipts"), nxt


def test_a_next_on_this_site_is_still_followed(users):
    clerk = login(users["clerk_zz"])
    r = clerk.post(reverse("pay"), {"paid_date": "2024-06-03", "next": "/bills/?page=2"})
    assert r.url == "/bills/?page=2"
    r = clerk.post(reverse("receipts_match"), {"next": "/receipts/?status=OPEN"})
    assert r.url == "/receipts/?status=OPEN"


def test_the_dispute_desk_stays_on_the_site(province, users, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    paid = paid_may(tmp_path, users)
    d = services.dispute_line(lines_of(paid)["T-ZZ001-CTCC"].pk, users["ctcc_zz"], "KWH", "")
    clerk = login(users["clerk_zz"])
    for nxt in ELSEWHERE:
        r = clerk.post(reverse("dispute_answer", args=[d.pk]), {"outcome": "NOPE", "next": nxt})
        assert on_this_site(r) and r.url == reverse("disputes"), nxt
    r = clerk.post(reverse("dispute_answer", args=[d.pk]), {"outcome": "NOPE",
                                                           "next": "/disputes/?status=OPEN"})
    assert r.url == "/disputes/?status=OPEN"


@pytest.mark.parametrize("nxt", ELSEWHERE[:2])
def test_login_logout_language_and_admin_login_stay_on_the_site(db, nxt):
    from tests.conftest import make_user
    from towerledger.access.models import Role

    make_user("viewer", Role.VIEWER)
    admin = make_user("admin", Role.PROVINCE_ADMIN)
    c = Client()
    r = c.post(reverse("login") + f"?next={nxt}",
               {"username": "viewer", "password": PASSWORD, "next": nxt})
    assert on_this_site(r) and r.url == reverse("home")
    r = c.get(reverse("login") + f"?next={nxt}")  # already logged in: sent on at once
    assert on_this_site(r)
    r = c.post(reverse("set_language"), {"language": "en", "next": nxt})
    assert on_this_site(r)
    r = c.post(reverse("logout") + f"?next={nxt}", {"next": nxt})
    assert on_this_site(r)
    admin.is_staff = True
    admin.save()
    r = Client().post("/admin/login/", {"username": "admin", "password": PASSWORD,
                                        "next": nxt})
    assert on_this_site(r)
