"""The collection API: statements (对账单) and receipts (回款), DOMAIN.md §2 steps 7–8.

Lines of tests.api.test_lines (every operator, two cities) are deemed confirmed and this
month's statements issued: CMCC 郑州 (two lines, RESALE and ON_BEHALF), CUCC 郑州 and 洛阳,
CTCC 郑州 and 洛阳. Receipts go through the real import, so they are matched as in life.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.api.conftest import call
from tests.api.test_lines import assert_error, make_lines, post
from tests.helpers import write_csv
from tests.integration.test_collection import RECEIPT_HEADER
from towerledger.collection import services
from towerledger.collection.models import Statement
from towerledger.exchange.services import run_import
from towerledger.settlement import services as settlement
from towerledger.settlement.models import IdempotencyKey, Line

D = Decimal
STATEMENTS, RECEIPTS = "/api/v1/statements", "/api/v1/receipts"


def make_statements(users, tmp_path) -> dict:
    """(operator, city) → the statement issued this month, with the lines of make_lines."""
    make_lines(users, tmp_path)
    settlement.run_deadlines(timezone.localdate() + timedelta(days=11))  # deemed confirmed
    issued = services.issue_statements(timezone.localdate().replace(day=1), users["admin"])
    return {(s.operator.code, s.city.name): s for s in issued}


def make_receipts(tmp_path, statements):
    today = timezone.localdate().isoformat()
    cmcc = statements[("CMCC", "郑州市")]
    rows = [["R-CMCC-1", "CMCC", "郑州市", "1000.00", today, cmcc.number],
            ["R-CMCC-2", "CMCC", "郑州市", "12.34", today, ""],
            ["R-CTCC-1", "CTCC", "郑州市", "50.00", today, ""],
            ["R-CUCC-LY", "CUCC", "洛阳市", "800.00", today, ""]]
    result = run_import("receipts", write_csv(tmp_path / "receipts.csv", RECEIPT_HEADER, rows,
                                              encoding="gb18030"))
    assert result.stored, [e.text() for e in result.errors]


@pytest.fixture
def statements(users, tmp_path):
    return make_statements(users, tmp_path)


def numbers(response):
    assert response.status_code == 200, response.content
    return sorted(item["number"] for item in response.json()["items"])


def test_statements_by_role_and_filters(client, tokens, statements):
    everything = sorted(s.number for s in statements.values())
    assert numbers(call(client, STATEMENTS, tokens["admin"])) == everything
    assert numbers(call(client, STATEMENTS, tokens["viewer"])) == everything
    assert numbers(call(client, STATEMENTS, tokens["cmcc"])) == [
        statements[("CMCC", "郑州市")].number]
    assert numbers(call(client, STATEMENTS, tokens["ctcc_zz"])) == [
        statements[("CTCC", "郑州市")].number]
    assert numbers(call(client, STATEMENTS, tokens["clerk_ly"])) == sorted(
        s.number for (op, city), s in statements.items() if city == "洛阳市")
    # filters never widen the scope
    assert numbers(call(client, STATEMENTS, tokens["cmcc"], operator="CTCC")) == []
    month = f"{timezone.localdate():%Y-%m}"
    assert len(numbers(call(client, STATEMENTS, tokens["admin"], month=month))) == 5
    assert numbers(call(client, STATEMENTS, tokens["admin"], month="2000-01")) == []
    assert numbers(call(client, STATEMENTS, tokens["admin"], status="CONFIRMED")) == []
    assert_error(call(client, STATEMENTS, tokens["admin"], month="2024-13"), 422, "INVALID")
    assert_error(call(client, STATEMENTS, tokens["admin"], status="NOPE"), 422, "INVALID")
    assert_error(call(client, STATEMENTS), 401, "UNAUTHORIZED")


def test_statement_detail_has_totals_by_mode_and_its_lines(client, tokens, statements):
    st = statements[("CMCC", "郑州市")]
    response = call(client, f"{STATEMENTS}/{st.number}", tokens["cmcc"])
    assert response.status_code == 200, response.content
    body = response.json()
    lines = Line.objects.filter(statement=st).order_by("pk")
    assert body["number"] == st.number and body["status"] == "ISSUED"
    assert body["operator"] == "CMCC" and body["city"] == "郑州市"
    assert body["lines_count"] == lines.count() == 2
    assert [x["id"] for x in body["lines"]] == [f"L{ln.pk}" for ln in lines]
    assert body["receivable"] == str(sum(ln.receivable for ln in lines))
    assert {m["settlement_mode"] for m in body["by_mode"]} == {"RESALE", "ON_BEHALF"}
    assert sum(D(m["receivable"]) for m in body["by_mode"]) == D(body["receivable"])
    for m in body["by_mode"]:   # to the fen, as strings
        assert m["receivable"] == str(D(m["receivable"]).quantize(D("0.01")))
    assert body["written_off"] == "0.00" and body["outstanding"] == body["receivable"]
    # another operator's statement, or a made-up number: 404 alike
    other = statements[("CTCC", "郑州市")].number
    assert_error(call(client, f"{STATEMENTS}/{other}", tokens["cmcc"]), 404, "NOT_FOUND")
    assert_error(call(client, f"{STATEMENTS}/DZ999999-X", tokens["cmcc"]), 404, "NOT_FOUND")
    assert call(client, f"{STATEMENTS}/{other}", tokens["clerk_zz"]).status_code == 200
    assert call(client, f"{STATEMENTS}/{other}", tokens["clerk_ly"]).status_code == 404


def test_confirm_once_with_the_key_and_conflict_without(client, tokens, statements):
    st = statements[("CMCC", "郑州市")]
    url = f"{STATEMENTS}/{st.number}/confirm"
    first = post(client, url, {}, tokens["cmcc"], key="st-1")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "CONFIRMED" and first.json()["confirmed_at"]
    assert Statement.objects.get(pk=st.pk).status == "CONFIRMED"
    again = post(client, url, {}, tokens["cmcc"], key="st-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert IdempotencyKey.objects.filter(key="st-1").count() == 1
    assert_error(post(client, url, {}, tokens["cmcc"], key="st-2"), 409, "CONFLICT")
    assert_error(post(client, url, {}, tokens["cmcc"]), 409, "CONFLICT")
    # the same key for another statement is refused, not answered with the first
    cucc = statements[("CUCC", "郑州市")].number
    assert_error(post(client, f"{STATEMENTS}/{cucc}/confirm", {}, tokens["cmcc"], key="st-1"),
                 400, "INVALID")
    body = call(client, f"{STATEMENTS}/{st.number}", tokens["cmcc"]).json()
    assert body["status"] == "CONFIRMED"


def test_confirm_is_for_the_operator_of_the_statement_only(client, tokens, statements):
    st = statements[("CMCC", "郑州市")]
    url = f"{STATEMENTS}/{st.number}/confirm"
    for who in ("admin", "viewer", "clerk_zz"):
        response = post(client, url, {}, tokens[who], key=f"{who}-k")
        assert_error(response, 403, "FORBIDDEN")
        assert response.json()["message_zh"] and response.json()["message_en"]
    ctcc = post(client, url, {}, tokens["ctcc_zz"], key="ctcc-k")
    assert_error(ctcc, 404, "NOT_FOUND")
    assert_error(post(client, f"{STATEMENTS}/DZ-nothing/confirm", {}, tokens["cmcc"]), 404,
                 "NOT_FOUND")
    assert_error(post(client, f"{STATEMENTS}/bad number/confirm", {}, tokens["cmcc"]), 422,
                 "INVALID")
    assert_error(post(client, url, {}), 401, "UNAUTHORIZED")
    assert Statement.objects.get(pk=st.pk).status == "ISSUED"
    assert not IdempotencyKey.objects.exists()   # a refused caller's key is not spent
    # a withdrawn statement: conflict
    withdrawn = services.withdraw_statement(statements[("CTCC", "郑州市")].pk, None, "redo")
    assert_error(post(client, f"{STATEMENTS}/{withdrawn.number}/confirm", {},
                      tokens["ctcc_zz"]), 409, "CONFLICT")


def test_receipts_are_scoped_with_applied_and_unapplied(client, tokens, statements, tmp_path):
    make_receipts(tmp_path, statements)
    response = call(client, RECEIPTS, tokens["cmcc"])
    assert response.status_code == 200, response.content
    items = {r["receipt_no"]: r for r in response.json()["items"]}
    assert set(items) == {"R-CMCC-1", "R-CMCC-2"}
    paid = items["R-CMCC-1"]
    assert (paid["status"], paid["applied"], paid["unapplied"]) == ("APPLIED", "1000.00",
                                                                    "0.00")
    left = items["R-CMCC-2"]
    assert (left["status"], left["applied"], left["unapplied"]) == ("UNMATCHED", "0.00",
                                                                    "12.34")
    assert {r["receipt_no"] for r in call(client, RECEIPTS, tokens["ctcc_zz"]).json()[
        "items"]} == {"R-CTCC-1"}
    assert {r["receipt_no"] for r in call(client, RECEIPTS, tokens["cmcc"],
                                          operator="CTCC").json()["items"]} == set()
    assert {r["receipt_no"] for r in call(client, RECEIPTS, tokens["cmcc"],
                                          status="OPEN").json()["items"]} == {"R-CMCC-2"}
    assert len(call(client, RECEIPTS, tokens["admin"]).json()["items"]) == 4
    assert {r["receipt_no"] for r in call(client, RECEIPTS, tokens["clerk_ly"]).json()[
        "items"]} == {"R-CUCC-LY"}
    # the statement shows what was written off
    st = call(client, f"{STATEMENTS}/{statements[('CMCC', '郑州市')].number}",
              tokens["cmcc"]).json()
    assert st["written_off"] == "1000.00"
    assert D(st["outstanding"]) == D(st["receivable"]) - D("1000.00")


def test_openapi_documents_the_collection_routes(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path, method in (("/api/v1/statements", "get"), ("/api/v1/statements/{number}", "get"),
                         ("/api/v1/statements/{number}/confirm", "post"),
                         ("/api/v1/receipts", "get")):
        op = paths[path][method]
        assert op["summary"] and op["description"], path
    confirm = paths["/api/v1/statements/{number}/confirm"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in confirm["parameters"]]
    assert {"200", "403", "404", "409"} <= set(confirm["responses"])
    schemas = doc["components"]["schemas"]
    for name in ("StatementOut", "ReceiptOut"):
        assert schemas[name].get("examples"), name
