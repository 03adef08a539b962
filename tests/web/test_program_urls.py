"""Every program page lives under /programs/<name>/ (the hub at /programs/), and where the
pages were before (/theft/, /generator/, /savings/ … — bookmarks, links in e-mails and docs)
answers with a permanent redirect to the same page, query string kept."""

import pytest
from django.test import Client
from django.urls import resolve, reverse

from tests.web.test_pages import login
from towerledger.web.programs import MODULES, MOVED, modules

pytestmark = pytest.mark.django_db

# old address → (route name it lands on, new address)
OLD = {
    "/theft/": ("theft", "/programs/theft/"),
    "/theft/12/move/": ("theft_move", "/programs/theft/12/move/"),
    "/theft/agreements/": ("theft_agreements", "/programs/theft/agreements/"),
    "/flags/7/theft-case/": ("theft_from_flag", "/programs/theft/from-flag/7/"),
    "/savings/?first=2024-05&last=2024-07": ("savings",
                                             "/programs/savings/?first=2024-05&last=2024-07"),
    "/conversion/projects/3/": ("conversion_project", "/programs/conversion/projects/3/"),
    "/trading/contracts/4/enrol/": ("trading_enrol", "/programs/trading/contracts/4/enrol/"),
    "/decommissions/5/archive/": ("decommission_step", "/programs/decommission/5/archive/"),
    "/quality/rules/SITE_NO_COORDS/?format=xlsx": (
        "quality_rule", "/programs/quality/rules/SITE_NO_COORDS/?format=xlsx"),
    "/generator/?month=2024-07": ("generator", "/programs/generator/?month=2024-07"),
    "/generator/outages/9/": ("generator_outage", "/programs/generator/outages/9/"),
    "/accruals/gl/mapping/": ("gl_mapping", "/programs/accruals/gl/mapping/"),
}


def test_every_program_page_is_under_programs_and_its_name():
    for name, module in zip(MODULES, modules(), strict=True):
        for p in module.urlpatterns:
            route = str(p.pattern)
            where = "savings" if p.name == "savings" else name
            assert route.startswith(f"programs/{where}/"), (name, route)
            assert reverse(p.name, kwargs={k: 1 for k in p.pattern.converters} or None) \
                .startswith(f"/programs/{where}/")


def test_old_addresses_redirect_permanently_to_the_same_page():
    c = Client()
    assert set(MOVED) == {old.split("/")[1] for old in OLD} - {"flags"}
    for old, (name, new) in OLD.items():
        r = c.get(old)
        assert (r.status_code, r["Location"]) == (301, new), old
        assert resolve(new.split("?")[0]).url_name == name, old
        assert c.head(old).status_code == 301
        # a form posted from a page loaded before the move keeps its method and body
        r = c.post(old, {"reason": "x"})
        assert (r.status_code, r["Location"]) == (308, new), old


def test_a_bookmark_opens_the_page_for_a_logged_in_user(users):
    c = login(users["clerk_zz"])
    r = c.get("/generator/?month=2024-07", follow=True)
    assert r.redirect_chain == [("/programs/generator/?month=2024-07", 301)]
    assert r.status_code == 200 and r.context["month"].strftime("%Y-%m") == "2024-07"
    r = c.get("/decommissions/", follow=True)
    assert r.redirect_chain == [("/programs/decommission/", 301)] and r.status_code == 200
