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
from itertools import islice

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.api.test_statements import make_receipts, make_statements

CASES = int(os.environ.get("TOWERLEDGER_SCHEMATHESIS_CASES", "12"))
COVERAGE_CASES = int(os.environ.get("TOWERLEDGER_SCHEMATHESIS_COVERAGE", "1000"))
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
