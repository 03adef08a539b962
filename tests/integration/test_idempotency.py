"""Two concurrent requests with one Idempotency-Key both get the first answer (issue 17):
the second waits for the first to commit and replays it, never 200 and 409. Real threads,
each with its own database connection, on the real database."""

import json
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from towerledger.access import audit
from towerledger.access.models import AuditEntry
from towerledger.settlement import services
from towerledger.settlement.models import IdempotencyKey

CONCURRENT = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="needs two writers at once: the SQLite test database is an in-memory shared "
           "cache, where a second writer fails at once ('table is locked') instead of "
           "waiting; the embedded SQLite file serialises writers (BEGIN IMMEDIATE), so there "
           "the second request starts only after the first has committed its answer")


def in_thread(target, *args):
    """Run ``target`` in a thread with its own connection; the thread's result or error."""
    out = {}

    def run():
        try:
            out["result"] = target(*args)
        except Exception as exc:  # reported to the test, not lost in the thread
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def request(user, key, started, answer, ran, fail=False):
    """``services.once`` with work that writes, says it started, then takes its time."""
    def work():
        audit.record(user, "idempotency_test", "test", answer)
        ran.append(answer)
        started.set()
        time.sleep(0.8)  # long enough for the other request to arrive and wait
        if fail:
            raise services.SettlementError("失败", "failed")
        return {"answer": answer}

    return services.once(user, key, "test.endpoint", work)


@CONCURRENT
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_second_request_waits_and_gets_the_first_answer(django_user_model):
    user = django_user_model.objects.create_user("erp")
    started, ran = threading.Event(), []
    first, out1 = in_thread(request, user, "k-1", started, "first", ran)
    assert started.wait(10)
    second, out2 = in_thread(request, user, "k-1", threading.Event(), "second", ran)
    first.join(30)
    second.join(30)
    assert out1 == {"result": {"answer": "first"}}
    assert out2 == {"result": {"answer": "first"}}  # not 409, not a second run
    assert ran == ["first"]
    assert list(AuditEntry.objects.filter(action="idempotency_test")
                .values_list("object_key", flat=True)) == ["first"]
    assert IdempotencyKey.objects.get().response == {"answer": "first"}


@CONCURRENT
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_when_the_first_request_fails_the_waiting_one_does_the_work(django_user_model):
    user = django_user_model.objects.create_user("erp")
    started, ran = threading.Event(), []
    first, out1 = in_thread(request, user, "k-2", started, "first", ran, True)
    assert started.wait(10)
    second, out2 = in_thread(request, user, "k-2", threading.Event(), "second", ran)
    first.join(30)
    second.join(30)
    assert isinstance(out1.get("error"), services.SettlementError)
    assert out2 == {"result": {"answer": "second"}}
    assert ran == ["first", "second"]
    assert list(AuditEntry.objects.filter(action="idempotency_test")
                .values_list("object_key", flat=True)) == ["second"]  # the failure left nothing
    assert IdempotencyKey.objects.get().response == {"answer": "second"}


@CONCURRENT
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_api_confirmations_with_one_key_get_the_same_answer(tmp_path):
    """End to end: the operator's system sends the same confirmation twice at once."""
    from tests.api.test_lines import CONFIRM, lid, make_lines
    from tests.conftest import make_user
    from tests.helpers import build_province
    from towerledger.access.models import Role
    from towerledger.api.tokens import create_token
    from towerledger.org.models import City, Operator

    build_province(tmp_path / "master")
    clerk = make_user("clerk_zz", Role.CITY_CLERK, city=City.objects.get(name="郑州市"))
    cmcc = make_user("cmcc", Role.OPERATOR, operator=Operator.objects.get(code="CMCC"))
    lines = make_lines({"clerk_zz": clerk}, tmp_path)
    token = create_token(cmcc, "erp")[1]
    body = json.dumps({"lines": [lid(lines["T-ZZ001-CMCC"]), lid(lines["T-ZZ002-CMCC"])]})
    barrier = threading.Barrier(2)

    def confirm():
        barrier.wait()
        r = Client().post(CONFIRM, body, content_type="application/json",
                          headers={"Authorization": f"Bearer {token}",
                                   "Idempotency-Key": "erp-race-1"})
        return r.status_code, r.json()

    threads = [in_thread(confirm) for _ in range(2)]
    for t, _out in threads:
        t.join(60)
    (s1, a1), (s2, a2) = (out["result"] for _t, out in threads)
    assert (s1, s2) == (200, 200), (a1, a2)
    assert a1 == a2 and len(a1["confirmed"]) == 2
    assert IdempotencyKey.objects.filter(key="erp-race-1").count() == 1


@pytest.mark.django_db
def test_a_retry_after_the_first_answer_replays_it_on_every_database(django_user_model):
    user = django_user_model.objects.create_user("erp")
    ran = []
    first = services.once(user, "k-3", "test.endpoint", lambda: ran.append(1) or {"n": 1})
    again = services.once(user, "k-3", "test.endpoint", lambda: ran.append(2) or {"n": 2})
    assert first == again == {"n": 1} and ran == [1]
    with pytest.raises(services.SettlementError):
        services.once(user, "k-3", "other.endpoint", lambda: {"n": 3})
