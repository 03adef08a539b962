"""Every GET route the API registers, called as an operator with keys it must not see;
every other route, called by roles that may not write.

The routes are read from the NinjaAPI itself (its OpenAPI document and its URL patterns),
never from a hand-written list, so a route added later without scoping fails here; a route
with a path parameter this test has no forbidden key for fails too, asking for one.
"""

import itertools
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import call
from tests.api.test_lines import make_lines
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


def get_writes():
    """``(method, path, example body)`` of every operation that is not a GET (body None for
    an operation that takes none, e.g. POST /statements/{number}/confirm)."""
    schema = api.get_openapi_schema(path_params={})
    writes = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            if method != "get":
                example = None
                if "requestBody" in op:
                    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                    example = schema["components"]["schemas"][ref.split("/")[-1]][
                        "examples"][0]
                writes.append((method, path, example))
    return writes


@pytest.fixture
def lines(users, tmp_path):
    """Lines of every operator, and disputes of CMCC's and CUCC's lines on ZZ001."""
    from tests.conftest import make_user
    from towerledger.access.models import Role
    from towerledger.org.models import Operator
    from towerledger.settlement.services import dispute_line

    made = make_lines(users, tmp_path)
    cucc = make_user("cucc", Role.OPERATOR, operator=Operator.objects.get(code="CUCC"))
    dispute_line(made["T-ZZ001-CUCC"].pk, cucc, "KWH", "T-ZZ001-CUCC 读数有误")
    dispute_line(made["T-ZZ001-CMCC"].pk, users["cmcc"], "PRICE", "T-ZZ001-CMCC 单价")
    return made


@pytest.fixture
def collected(lines, users, tmp_path):
    """The other lines deemed confirmed, this month's statements issued (per operator and
    city) and receipts of CMCC, CTCC 郑州 and CUCC 洛阳: (operator, city) → statement."""
    from tests.api.test_statements import make_receipts
    from towerledger.collection.services import issue_statements
    from towerledger.settlement.services import run_deadlines

    run_deadlines(timezone.localdate() + timedelta(days=11))
    issued = issue_statements(timezone.localdate().replace(day=1), users["admin"])
    statements = {(s.operator.code, s.city.name): s for s in issued}
    make_receipts(tmp_path, statements)
    return statements


def test_every_registered_url_is_in_the_openapi_document():
    """So ``include_in_schema=False`` cannot hide a route from the enumeration below."""
    documented = set(api.get_openapi_schema(path_params={})["paths"])
    registered = {"/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern))
                  for p in api.urls[0] if p.name not in DOCS}
    assert registered and registered <= documented, registered - documented


def decommission_case() -> str:
    """A decommissioning of ZZ002, requested by the system (its id as text)."""
    from datetime import date

    from towerledger.programs.decommission import services
    from towerledger.programs.decommission.models import Decommissioning

    case = Decommissioning.objects.filter(site__site_code="ZZ002").first() or \
        services.request(None, "ZZ002", date(2024, 6, 30), "拆站 test")
    return str(case.pk)


def forbidden_keys(who, bills, lines, statements):
    """Per path/filter parameter: keys of records that exist but ``who`` must not see."""
    common = {
        "account_no": ["A-100", "A-200", "A-300"],  # operators see no supply accounts
        "bill_id": [str(bills["zz"].pk), str(bills["ly"].pk)],  # nor bills
        "case_id": [decommission_case()],  # nor decommissionings (tower staff only)
    }
    if who == "cmcc":
        others = ("T-ZZ001-CUCC", "T-ZZ001-CTCC", "T-LY001-CTCC", "LUMP-T-LY001-CUCC")
        keys = common | {
            "site_code": ["ZZ003", "LY001"],  # no CMCC tenancy there
            "tenancy_id": ["T-ZZ001-CUCC", "T-ZZ001-CTCC", "T-LY001-CUCC"],  # other operators
        }
    else:  # ctcc_zz: CTCC in 郑州 only
        others = ("T-ZZ001-CMCC", "T-ZZ001-CUCC", "T-ZZ002-CMCC", "T-LY001-CTCC",
                  "LUMP-T-LY001-CUCC")
        keys = common | {
            "site_code": ["ZZ003", "LY001"],
            "tenancy_id": ["T-LY001-CTCC", "T-ZZ001-CMCC", "T-ZZ002-CMCC"],
        }
    # other operators' allocation lines (and the province's), in both id forms
    line_ids = [f"L{lines[k].pk}" for k in others]
    # statements and receipts of other operators (and, for ctcc_zz, of other cities)
    own = ("CMCC", None) if who == "cmcc" else ("CTCC", "郑州市")
    numbers = [s.number for (op, city), s in statements.items()
               if op != own[0] or (own[1] and city != own[1])]
    receipts = [r for r in ("R-CMCC-1", "R-CMCC-2", "R-CTCC-1", "R-CUCC-LY")
                if not r.startswith(f"R-{own[0]}-")]
    operators = [c for c in ("CMCC", "CUCC", "CTCC") if c != own[0]]
    assert numbers and receipts
    from tests.api.test_tax_factors import hidden_tax_rows

    return keys | {"line_id": line_ids, "line": line_ids + [ids[1:] for ids in line_ids],
                   "number": numbers, "receipt_no": receipts, "operator": operators,
                   "rate_id": hidden_tax_rows(own[0])}


def leak_markers(forbidden, bills):
    """Strings that must not appear in any response body the operator receives."""
    markers = {k for key in ("site_code", "tenancy_id", "account_no", "number", "receipt_no")
               for k in forbidden[key]}
    return markers | {bills["zz"].bill_no, bills["ly"].bill_no}


@pytest.mark.parametrize("who", ["cmcc", "ctcc_zz"])
def test_no_get_route_shows_an_operator_what_it_must_not_see(client, tokens, lines, collected,
                                                             bills, who):
    # ``lines`` before ``bills``: B-2405 is paid before bills' B-ZZ-2405 overlaps it on A-100
    forbidden = forbidden_keys(who, bills, lines, collected)
    markers = leak_markers(forbidden, bills)
    routes = get_routes()
    # me, sites, tenancies, accounts, bills, lines (lists and details), disputes,
    # statements (list and detail), receipts
    assert len(routes) >= 15
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


def test_every_write_refuses_anonymous_callers_and_read_only_roles(client, tokens, lines,
                                                                    collected):
    """Each non-GET route, called with its documented example body (path parameters: a
    record that exists): 401 without a token, 403 for the viewer and the city clerks (for
    the tower side's corrections, which clerks make: for the viewer and the operators), and
    nothing written."""
    writes = get_writes()
    assert {path for _, path, _ in writes} >= {"/api/v1/lines/confirm", "/api/v1/lines/disputes",
                                               "/api/v1/statements/{number}/confirm"}
    existing = {"number": collected[("CMCC", "郑州市")].number,
                "bill_id": str(lines["T-ZZ001-CMCC"].bill_id)}
    before = state()
    for method, path, example in writes:
        for name in re.findall(r"{(\w+)}", path):
            assert name in existing, f"{path}: add an existing key for {{{name}}} to this test"
            path = path.replace("{" + name + "}", existing[name])
        body = json.dumps(example) if example is not None else ""
        anonymous = client.generic(method.upper(), path, body, content_type="application/json")
        assert anonymous.status_code == 401, (path, anonymous.status_code)
        may_not = ("viewer", "cmcc", "ctcc_zz") if "/corrections/" in path else (
            "viewer", "clerk_zz", "clerk_ly")
        for who in may_not:
            response = client.generic(method.upper(), path, body,
                                      content_type="application/json",
                                      headers={"Authorization": f"Bearer {tokens[who]}",
                                               "Idempotency-Key": f"{who}-{path}"})
            assert response.status_code == 403, (path, who, response.status_code)
            assert response.json()["code"] == "FORBIDDEN"
    assert state() == before


def state():
    from towerledger.collection.models import Statement
    from towerledger.ledger.models import JournalEntry
    from towerledger.settlement.models import Dispute, IdempotencyKey, Line

    return (sorted(Line.objects.values_list("pk", "status")), Dispute.objects.count(),
            JournalEntry.objects.count(), IdempotencyKey.objects.count(),
            sorted(Statement.objects.values_list("pk", "status", "confirmed_at")))
