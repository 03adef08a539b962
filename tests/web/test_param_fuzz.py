"""Hostile query parameters on every page, as each role: never a 5xx.

Every page of ``web/urls.py`` without a path argument is requested (read from the URLs, so a
new page is fuzzed without being listed); ``PAGES`` names the filters a page reads, others
get ``GENERIC``. Each parameter gets hostile values — malformed months and dates,
non-numeric and huge ids, a NUL byte, very long text, unicode, negative numbers, ``../``,
SQL-ish text, the parameter repeated — and every page of one record gets hostile ids in
place of its number. The province has a closed month, statements, a dispute and a site whose
code holds a ``/`` (older data: the import now refuses it), whose page and links must work.
A bad value is ignored or answered 400 with a bilingual message naming the parameter; a
5xx is a failure.
"""

import re
from datetime import date

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from tests.integration.test_analysis import MAY1, may_paid  # noqa: F401
from towerledger.analysis import close as closing
from towerledger.collection import services as collection
from towerledger.settlement import services as settlement
from towerledger.settlement.models import Line
from towerledger.sites.models import Site

ROLES = ("admin", "clerk_zz", "cmcc")
SLASHED = "ZZ/009"   # a site code holding "/" (stored before the import refused it)

HOSTILE = [
    "abc", "0000-01", "2024-13", "99999-01", "-1", str(10**30), "1e400", "²", "\x00",
    "x" * 5000, "郑州市\u202e𝕏🙂", "../../etc/passwd", "' OR 1=1 --",
    "2024-06-01T00:00:00+08:00", ["1", "2"],
]
# the clerk and the operator go through the same parsing: fewer values, their scope's paths
HOSTILE_FOR = {"admin": HOSTILE, "clerk_zz": HOSTILE[::2], "cmcc": HOSTILE[1::2]}
PAGE_PARAMS = ("page",)      # the pager of every list
# the filters each page reads; a page of web/urls.py not named here gets GENERIC
GENERIC = ("q", "month", "city", "operator", "status")
DASH = ("month", "city", "operator", "county", "q", "kpi", "format")
PAGES = {
    "sites": ("q", "city", "status"),
    "tenancies": ("q", "operator", "mode"),
    "accounts": ("q", "mode"),
    "bills": ("q", "account", "status", "city", "month", "blocked"),
    "flags": ("rule", "severity", "status", "city", "mine"),
    "imports": ("kind",),
    "audit_log": ("q", "action"),
    "lines": ("tab", "month", "city", "site", "kind", "status", "operator"),
    "lines_export": ("tab", "month", "city", "site", "kind", "status", "operator"),
    "disputes": ("state", "city", "site", "reason"),
    "ledger": ("month", "city", "site"),
    "statements": ("month", "operator", "city", "status"),
    "receipts": ("status", "operator", "city", "date_from", "date_to", "q"),
    "ageing": ("by", "as_of", "operator", "city"),
    "ageing_export": ("by", "as_of", "operator", "city"),
    "reconcile": ("operator", "month"),
    "dashboard": DASH,
    "month_close": ("job",),
}
# pages with a path argument that is not a record's number: (name, arguments, parameters)
WITH_ARGS = [("report", (kind,), DASH) for kind in ("kpi", "sites", "my_sites", "tower",
                                                       "prices")] + [
    ("export", (kind,), ("format",)) for kind in ("sites", "tenancies", "accounts", "bills",
                                                  "flags")] + [
    ("site", ("ZZ001",), ()), ("site", (SLASHED,), ())]
HOSTILE_IDS = ["abc", "-1", "0", str(10**30), "²", "%00", "..%2F..%2Fetc", "%E9%83%91",
               "1e400", "L1", "x" * 300]


@pytest.fixture
def province_with_everything(may_paid, users):  # noqa: F811
    """May closed (deemed confirmations), its statements, a receipt, a dispute of a later
    line, and a site whose code holds a slash."""
    closing.close_month(MAY1, as_of=date(2024, 6, 15))
    collection.issue_statements(MAY1, users["admin"])
    zz001 = Site.objects.get(site_code="ZZ001")
    Site.objects.create(site_code=SLASHED, site_name="斜杠站", county=zz001.county,
                        site_type="MACRO")
    line = Line.objects.filter(operator__code="CMCC").exclude(status="TOWER").first()
    if line is not None and line.status == Line.Status.PUSHED:
        settlement.dispute_line(line.pk, users["cmcc"], "KWH", "fuzz")
    return users


def clients(users) -> dict:
    out = {}
    for role in ROLES:
        c = Client(raise_request_exception=False)
        c.force_login(users[role])
        out[role] = c
    return out


def get(client, url, params, failures, counts):
    """One GET in its own savepoint (a database error aborts PostgreSQL's transaction)."""
    savepoint = transaction.savepoint()
    response = client.get(url, params)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    counts[response.status_code // 100] = counts.get(response.status_code // 100, 0) + 1
    if response.status_code >= 500:
        transaction.savepoint_rollback(savepoint)
        failures.append(f"{url} {params!r:.120} → {response.status_code}")
    else:
        transaction.savepoint_commit(savepoint)
        if response.status_code == 400:
            body = response.content.decode(errors="replace")
            assert "参数" in body and "parameter" in body, (url, params, body[:300])
    return response


def web_routes():
    """(name, route) of every page of web/urls.py."""
    return [(p.name, str(p.pattern)) for p in get_resolver("towerledger.web.urls").url_patterns
            if isinstance(p, URLPattern)]


def targets() -> list[tuple[str, tuple]]:
    """(URL, parameters) of every page without a path argument, and those of WITH_ARGS."""
    out = [(reverse(name), PAGES.get(name, GENERIC)) for name, route in web_routes()
           if "<" not in route and name not in ("login", "logout")]
    return out + [(reverse(name, args=args), params) for name, args, params in WITH_ARGS]


def record_paths() -> list[str]:
    """Every page of one record, as a template for hostile ids in place of its number."""
    return sorted({"/" + re.sub(r"<int:\w+>", "{}", route) for _name, route in web_routes()
                   if "<int:" in route})


def test_the_named_pages_exist():
    names = {name for name, _route in web_routes()}
    assert set(PAGES) - names == set()
    assert {name for name, _a, _p in WITH_ARGS} - names == set()


def test_a_site_code_with_a_slash_has_a_working_page(province_with_everything):
    admin = clients(province_with_everything)["admin"]
    url = reverse("site", args=[SLASHED])
    assert get(admin, url, {}, [], {}).status_code == 200
    assert url in admin.get(reverse("sites"), {"q": "ZZ/"}).content.decode()
    for code in ("..", "a?b#c", "50%", " spaced "):
        Site.objects.create(site_code=code, site_name="怪码", site_type="MACRO",
                            county=Site.objects.get(site_code="ZZ001").county)
        page = admin.get(reverse("site", args=[code]))
        assert page.status_code == 200 and page.context["site"].site_code == code


def test_a_bad_parameter_is_a_bilingual_400(province_with_everything):
    admin = clients(province_with_everything)["admin"]
    for url, params in ((reverse("sites"), {"city": "abc"}),
                        (reverse("dashboard"), {"month": "0000-01"}),
                        (reverse("bills"), {"q": "a\x00b"}),
                        (reverse("lines"), {"month": "2024-13"}),
                        (reverse("receipts"), {"date_from": "2024-02-30"})):
        response = admin.get(url, params)
        assert response.status_code == 400, (url, params, response.status_code)
        body = response.content.decode()
        assert "参数" in body and "invalid parameter" in body and next(iter(params)) in body
    # a NUL in a form's text field is refused before the view (PostgreSQL stores none)
    clerk = clients(province_with_everything)["clerk_zz"]
    response = clerk.post(reverse("pay"), {"ids": "1", "paid_date": "2024-06-01",
                                           "reason": "a\x00b"})
    assert response.status_code == 400 and "reason" in response.content.decode()


# one test per role (the same requests as one test over all three): test processes share them
@pytest.mark.parametrize("role", ROLES)
def test_hostile_parameters_never_give_a_server_error(province_with_everything, role):
    users = province_with_everything
    failures, counts = [], {}
    pages = targets()
    client = clients(users)[role]
    values = HOSTILE_FOR[role]
    for url, params in pages:
        if get(client, url, {}, failures, counts).status_code == 405:
            continue        # a POST-only action: no GET to fuzz
        for name in (*params, *PAGE_PARAMS):
            for value in values:
                get(client, url, {name: value}, failures, counts)
        for value in values[:3]:    # every parameter hostile at once
            get(client, url, dict.fromkeys((*params, *PAGE_PARAMS), value), failures,
                counts)
    for template in record_paths():
        for value in HOSTILE_IDS:
            get(client, template.replace("{}", value), {}, failures, counts)
    total = sum(counts.values())
    print(f"\nweb parameter fuzz as {role}: {total} requests over {len(pages)} pages, by "
          f"status class {sorted(counts.items())}, {len(failures)} server errors")
    assert not failures, f"{len(failures)} of {total} requests answered 5xx:\n" + "\n".join(
        failures[:60])
