"""The product's own 404, 403 and 500 pages (issue 16): in the user's language, with the
navigation and a way back, never Django's debug or plain pages — as the demo and production
serve them, with DEBUG off."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from towerledger.web.errors import server_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


def login(user):
    c = Client()
    c.force_login(user)
    return c


def test_404_in_the_users_language_with_navigation(users):
    r = login(users["cmcc"]).get("/no-such-page/")
    body = r.content.decode()
    assert r.status_code == 404 and 'id="error-page"' in body
    assert "页面没有找到" in body and 'class="nav"' in body and reverse("lines") in body
    assert "Django" not in body and "URLconf" not in body
    # a page outside the role reads the same, with the role's own navigation
    r = login(users["cmcc"]).get(reverse("people"))
    assert r.status_code == 404 and 'id="error-page"' in r.content.decode()
    c = login(users["viewer"])
    c.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = c.get(reverse("line", args=[999999])).content.decode()
    assert "Page not found" in body and "Back to the home page" in body


def test_404_for_a_visitor_offers_the_login(db):
    body = Client().get("/no-such-page/").content.decode()
    assert "页面没有找到" in body and reverse("login") in body and "退出" not in body


def test_403_for_a_form_without_its_csrf_token(users):
    c = Client(enforce_csrf_checks=True)
    c.force_login(users["admin"])
    r = c.post(reverse("person_new"), {"username": "x", "role": "VIEWER"})
    assert r.status_code == 403 and 'id="error-page"' in r.content.decode()
    assert reverse("people") in r.content.decode()      # the admin's navigation


def test_500_page_with_and_without_the_database(users):
    request = RequestFactory().get("/somewhere/")
    request.user = users["clerk_zz"]
    body = server_error(request).content.decode()
    assert "500" in body and reverse("bills") in body
    request.user = None          # rendering with the request fails: the plain page still answers
    r = server_error(request)
    assert r.status_code == 500 and 'id="error-page"' in r.content.decode()


def test_api_paths_answer_json(db):
    r = Client().get("/api/v1/no-such-thing/")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
