"""Every GET route the API registers, called as an operator with keys it must not see.

The routes are read from the NinjaAPI itself (its OpenAPI document and its URL patterns),
never from a hand-written list, so a route added later without scoping fails here; a route
with a path parameter this test has no forbidden key for fails too, asking for one.
"""

import itertools
import json
import re

import pytest

from tests.api.conftest import call
from towerledger.api.urls import api

DOCS = {"openapi-json", "openapi-view", "api-root"}


def get_routes():
    """``(path, query parameter names)`` of every GET operation, e.g. '/api/v1/sites/{site_code}'."""
    schema = api.get_openapi_schema(path_params={})
    routes = []
    for path, operations in schema["paths"].items():
        if "get" in operations:
            params = operations["get"].get("parameters", [])
            routes.append((path, [p["name"] for p in params if p["in"] == "query"]))
    return routes


def test_every_registered_url_is_in_the_openapi_document():
    """So ``include_in_schema=False`` cannot hide a route from the enumeration below."""
    documented = {path for path, _ in get_routes()}
    registered = {"/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern))
                  for p in api.urls[0] if p.name not in DOCS}
    assert registered and registered <= documented, registered - documented


def forbidden_keys(who, bills):
    """Per path/filter parameter: keys of records that exist but ``who`` must not see."""
    common = {
        "account_no": ["A-100", "A-200", "A-300"],  # operators see no supply accounts
        "bill_id": [str(bills["zz"].pk), str(bills["ly"].pk)],  # nor bills
    }
    if who == "cmcc":
        return common | {
            "site_code": ["ZZ003", "LY001"],  # no CMCC tenancy there
            "tenancy_id": ["T-ZZ001-CUCC", "T-ZZ001-CTCC", "T-LY001-CUCC"],  # other operators
        }
    return common | {  # ctcc_zz: CTCC in 郑州 only
        "site_code": ["ZZ003", "LY001"],
        "tenancy_id": ["T-LY001-CTCC", "T-ZZ001-CMCC", "T-ZZ002-CMCC"],
    }


def leak_markers(forbidden, bills):
    """Strings that must not appear in any response body the operator receives."""
    markers = {k for key in ("site_code", "tenancy_id", "account_no") for k in forbidden[key]}
    return markers | {bills["zz"].bill_no, bills["ly"].bill_no}


@pytest.mark.parametrize("who", ["cmcc", "ctcc_zz"])
def test_no_get_route_shows_an_operator_what_it_must_not_see(client, tokens, bills, who):
    forbidden = forbidden_keys(who, bills)
    markers = leak_markers(forbidden, bills)
    routes = get_routes()
    assert len(routes) >= 9  # me, sites, tenancies, accounts, bills (lists and details)
    tried = 0
    for path, query_names in routes:
        names = re.findall(r"{(\w+)}", path)
        for name in names:
            assert name in forbidden, f"{path}: add a forbidden key for {{{name}}} to this test"
        for values in itertools.product(*(forbidden[n] for n in names)):
            url = path
            for name, value in zip(names, values, strict=True):
                url = url.replace("{" + name + "}", value)
            if names:
                # the record exists: the province admin reads it at the same URL
                assert call(client, url, tokens["admin"]).status_code == 200, url
                response = call(client, url, tokens[who])
                assert response.status_code in (403, 404), (url, response.status_code)
            else:
                response = call(client, url, tokens[who])
                assert response.status_code in (200, 403), (url, response.status_code)
            assert_no_leak(response, markers, url)
            tried += 1
            # the same route with each filter set to a forbidden key must not widen the scope
            for q in query_names:
                for value in forbidden.get(q, []):
                    filtered = call(client, url, tokens[who], **{q: value})
                    assert filtered.status_code in (200, 403, 404), (url, q, value)
                    assert_no_leak(filtered, markers, f"{url}?{q}={value}")
                    tried += 1
    assert tried > len(routes)


def assert_no_leak(response, markers, url):
    text = json.dumps(response.json(), ensure_ascii=False)
    leaked = sorted(m for m in markers if m in text)
    assert not leaked, f"{url} shows {leaked}"
