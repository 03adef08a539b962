"""schemathesis against the API's own OpenAPI document: bad input is a 4xx, never a 5xx.

The document is read from the running app (``/api/v1/openapi.json`` through Django's WSGI
handler, in-process, no network). Every operation gets a bounded number of generated cases,
valid (positive) and schema-violating (negative), sent with a bearer token of a province admin
and of an operator user, over the data of the collection API tests (lines, disputes,
statements, receipts, bills). The check is schemathesis's ``not_a_server_error``; every failure
is collected so the assertion names all of them at once, not only the first.

``TOWERLEDGER_SCHEMATHESIS_CASES`` raises the number of cases per operation, role and mode
(default 12: about 1,400 requests, well under a minute on two cores).
"""

import os
from collections import Counter
from datetime import UTC, timedelta
from itertools import islice

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.api.conftest import call
from tests.api.test_lines import make_lines
from tests.api.test_statements import make_receipts, make_statements
from towerledger.settlement.models import Line
from towerledger.sites.models import Site

CASES = int(os.environ.get("TOWERLEDGER_SCHEMATHESIS_CASES", "10"))
COVERAGE_CASES = int(os.environ.get("TOWERLEDGER_SCHEMATHESIS_COVERAGE", "60"))
ROLES = ("admin", "cmcc")


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler inside the test's transaction.

    A real request ends with ``close_old_connections``, which would close the connection the
    test transaction lives on; Django's own test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def send(case, headers, outcome: Counter, failures: list, label: str):
    # a request that fails in the database aborts PostgreSQL's transaction: undo it alone
    savepoint = transaction.savepoint()
    response = case.call(headers=headers)
    if response.status_code >= 500:
        transaction.savepoint_rollback(savepoint)
    else:
        transaction.savepoint_commit(savepoint)
    outcome[response.status_code // 100] += 1
    try:
        case.validate_response(response, checks=[not_a_server_error])
    except FailureGroup as failure:
        failures.append(f"{label} {response.status_code}: {case.as_curl_command()}\n"
                        f"{str(failure)[:600]}")


def run_coverage(operation, headers, outcome: Counter, failures: list):
    """schemathesis's coverage phase: deterministic boundary and type-violating values of
    every parameter (huge numbers, wrong formats, missing or repeated parameters)."""
    schema = operation.schema
    config = schema.config.generation_for(operation=operation, phase="coverage")
    cases = schema.iter_coverage_cases(
        operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=config)
    for case in islice(cases, COVERAGE_CASES):
        send(case, headers, outcome, failures, f"{operation.label} [coverage]")


def run_operation(operation, mode, headers, outcome: Counter, failures: list):
    @settings(max_examples=CASES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        send(case, headers, outcome, failures, f"{operation.label} [{mode.value}]")

    fuzz()


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_from_any_generated_request(role, users, tokens, tmp_path,
                                                    wsgi_app):
    make_receipts(tmp_path, make_statements(users, tmp_path))
    auth = {"Authorization": f"Bearer {tokens[role]}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app, headers=auth)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 14, [op.label for op in operations]
    outcome, failures = Counter(), []
    for operation in operations:
        run_coverage(operation, auth, outcome, failures)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run_operation(operation, mode, auth, outcome, failures)
    total = sum(outcome.values())
    print(f"\nschemathesis {role}: {total} cases over {len(operations)} operations, "
          f"by status class {dict(sorted(outcome.items()))}, {len(failures)} server errors")
    assert total >= len(operations) * CASES
    assert not failures, f"{len(failures)} server errors of {total} cases:\n\n" + "\n\n".join(
        failures[:20])


def test_the_known_bad_parameters_are_bilingual_4xx(client, users, tokens, tmp_path):
    """The crashes of issue 17, one by one: each a 400/422 with the coded bilingual body."""
    make_lines(users, tmp_path)
    admin = tokens["admin"]
    for url, params in (("/api/v1/lines", {"month": "0000-01"}),
                        ("/api/v1/statements", {"month": "99999-01"}),
                        ("/api/v1/lines", {"offset": str(10**30)}),
                        ("/api/v1/sites", {"q": "a\x00b"}),
                        ("/api/v1/sites", {"q": "x" * 5000}),
                        ("/api/v1/bills", {"period_from": "0001-01-01"}),
                        ("/api/v1/lines", {"updated_since": "0001-01-01T00:00:00+08:00"}),
                        ("/api/v1/bills/abc", {})):
        response = call(client, url, admin, **params)
        assert response.status_code in (400, 404, 422), (url, params, response.status_code)
        body = response.json()
        assert body["code"] in ("INVALID", "NOT_FOUND") and body["message_zh"] \
            and body["message_en"], body
    # a NUL in a JSON body's text (PostgreSQL stores none): refused before the service
    line = Line.objects.filter(operator__code="CMCC", status=Line.Status.PUSHED).first()
    response = client.post("/api/v1/lines/disputes", {"disputes": [
        {"line": f"L{line.pk}", "reason": "OTHER", "comment": "a\x00b"}]},
        content_type="application/json", headers={"Authorization": f"Bearer {tokens['cmcc']}"})
    assert response.status_code == 400 and response.json()["code"] == "INVALID"
    assert "NUL" in response.json()["message_en"]
    line.refresh_from_db()
    assert line.status == Line.Status.PUSHED


def test_an_aware_timestamp_is_honoured(client, users, tokens, tmp_path):
    make_lines(users, tmp_path)
    cmcc = tokens["cmcc"]
    pushed = Line.objects.filter(operator__code="CMCC").exclude(pushed_at=None)
    assert pushed.exists()
    first = min(pushed.values_list("pushed_at", flat=True))

    def count(moment: str) -> int:
        response = call(client, "/api/v1/lines", cmcc, updated_since=moment)
        assert response.status_code == 200, response.content
        return response.json()["count"]

    everything = count((first - timedelta(hours=1)).isoformat())
    assert everything == pushed.filter(status=Line.Status.PUSHED).count()
    # the same moment written in three zones, and a "+" lost to an unescaped query string
    later = first + timedelta(hours=1)
    for zone in (timezone.get_fixed_timezone(8 * 60), timezone.get_fixed_timezone(-5 * 60),
                 UTC):
        assert count(later.astimezone(zone).isoformat()) == 0
    unescaped = later.astimezone(timezone.get_fixed_timezone(8 * 60)).isoformat()
    assert count(unescaped.replace("+", " ")) == 0
    assert count((first - timedelta(hours=1)).astimezone(
        timezone.get_fixed_timezone(-19 * 60)).isoformat()) == everything


def test_a_site_code_with_a_slash_has_its_record(client, tokens, province):
    zz001 = Site.objects.get(site_code="ZZ001")
    Site.objects.create(site_code="ZZ/009", site_name="斜杠站", county=zz001.county,
                        site_type="MACRO")
    for url in ("/api/v1/sites/ZZ/009", "/api/v1/sites/ZZ%2F009"):
        response = call(client, url, tokens["admin"])
        assert response.status_code == 200 and response.json()["site_code"] == "ZZ/009"
