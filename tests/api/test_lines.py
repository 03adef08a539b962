"""The operators' systems' settlement API: lines, confirmation, disputes (DOMAIN.md §4).

Lines come from the real services on the small province of tests.helpers: bill B-2405 on
A-100 (ZZ001: CMCC, CUCC, CTCC from 17 May) paid through the bills service, grid bill G-2405
on A-200 (ZZ002 70 %: CMCC, CTCC; ZZ003 30 %: tower-borne) and B-LY-2403 on A-300 (LY001:
CTCC, and CUCC on a lump sum, so tower-borne) imported paid, and the March lump sum of
T-LY001-CUCC.
"""

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import call
from tests.integration.test_bills import GRID, MAY, bill, import_bills
from towerledger.api.pagination import MAX_LIMIT
from towerledger.bills import services as bill_services
from towerledger.ledger.models import JournalEntry
from towerledger.settlement import services
from towerledger.settlement.models import Dispute, IdempotencyKey, Line

LY = ["B-LY-2403", "A-300", "2024-03-01", "2024-03-31", "", "", "", "", "1000", "1.00",
      "1000.00", "", "GENERAL", "2024-04-05", "PAY-LY2403"]
LINES, CONFIRM, DISPUTES = "/api/v1/lines", "/api/v1/lines/confirm", "/api/v1/lines/disputes"


def make_lines(users, tmp_path) -> dict:
    """Key → Line: the tenancy_id for allocation lines, "LUMP-<tenancy_id>" for the lump
    sum, "TOWER-<site_code>" for the tower-borne rows."""
    result = import_bills(tmp_path, [MAY, GRID, LY])
    assert result.stored, [e.text() for e in result.errors]
    paid = bill_services.pay_bills([bill("A-100", "B-2405").pk], users["clerk_zz"],
                                   timezone.localdate(), reason="test")
    assert paid.paid
    assert services.lump_sums(date(2024, 3, 1)) == 1
    out = {}
    for ln in Line.objects.select_related("tenancy", "site"):
        if ln.status == Line.Status.TOWER:
            key = f"TOWER-{ln.site.site_code}" + (f"-{ln.tenancy.tenancy_id}" if ln.tenancy_id
                                                  else "")
        elif ln.kind == Line.Kind.LUMP_SUM:
            key = f"LUMP-{ln.tenancy.tenancy_id}"
        else:
            key = ln.tenancy.tenancy_id
        out[key] = ln
    return out


@pytest.fixture
def lines(users, tmp_path):
    return make_lines(users, tmp_path)


def lid(line) -> str:
    return f"L{line.pk}"


def post(client, url, body, token=None, key=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def listed(client, token, **params):
    response = call(client, LINES, token, **params)
    assert response.status_code == 200, response.content
    return sorted(item["tenancy_id"] + ("" if item["kind"] == "ALLOCATION" else
                                        f" {item['kind']}")
                  for item in response.json()["items"])


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message_zh"] and body["message_en"], body


# ---- reading --------------------------------------------------------------------------------

@pytest.mark.parametrize("who, expected", [
    ("admin", ["T-LY001-CTCC", "T-LY001-CUCC LUMP_SUM", "T-ZZ001-CMCC", "T-ZZ001-CTCC",
               "T-ZZ001-CUCC", "T-ZZ002-CMCC", "T-ZZ002-CTCC"]),
    ("viewer", ["T-LY001-CTCC", "T-LY001-CUCC LUMP_SUM", "T-ZZ001-CMCC", "T-ZZ001-CTCC",
                "T-ZZ001-CUCC", "T-ZZ002-CMCC", "T-ZZ002-CTCC"]),
    ("clerk_zz", ["T-ZZ001-CMCC", "T-ZZ001-CTCC", "T-ZZ001-CUCC", "T-ZZ002-CMCC",
                  "T-ZZ002-CTCC"]),
    ("clerk_ly", ["T-LY001-CTCC", "T-LY001-CUCC LUMP_SUM"]),
    ("cmcc", ["T-ZZ001-CMCC", "T-ZZ002-CMCC"]),
    ("ctcc_zz", ["T-ZZ001-CTCC", "T-ZZ002-CTCC"]),  # not LY001: CTCC in 郑州 only
])
def test_lines_by_role_never_tower_borne(client, tokens, lines, who, expected):
    assert listed(client, tokens[who]) == expected
    assert listed(client, tokens[who], status="ALL") == expected


def test_line_item_uses_canonical_names_and_strings_for_decimals(client, tokens, lines):
    ctcc = lines["T-ZZ001-CTCC"]
    items = call(client, LINES, tokens["ctcc_zz"], site_code="ZZ001").json()["items"]
    assert len(items) == 1
    item = items[0]
    today = timezone.localdate()
    assert item == {
        "id": lid(ctcc), "kind": "ALLOCATION", "adjusts": None, "bill_no": "B-2405",
        "month": "2024-05", "site_code": "ZZ001", "tenancy_id": "T-ZZ001-CTCC",
        "operator": "CTCC", "settlement_mode": "RESALE", "period_start": "2024-05-01",
        "period_end": "2024-05-31", "active_days": 15, "share": "0.090726",
        "cost_share": "431.13", "tax_factor": "0.1300", "tax_amount": str(ctcc.tax_amount),
        "receivable": str(ctcc.receivable), "status": "PUSHED",
        "push_date": today.isoformat(), "confirm_due": (today + timedelta(days=10)).isoformat(),
        "confirmed_at": None, "deemed": False,
        "explanation": {"zh": ctcc.trace["text_zh"], "en": ctcc.trace["text_en"]}}
    assert "T-ZZ001-CTCC" in item["explanation"]["en"] and "缴费单" in item["explanation"]["zh"]


def test_an_operator_never_gets_another_operators_line_by_guessed_id(client, tokens, lines):
    for key in ("T-ZZ001-CUCC", "T-ZZ001-CTCC", "T-ZZ002-CTCC", "T-LY001-CTCC",
                "LUMP-T-LY001-CUCC", "TOWER-ZZ001", "TOWER-ZZ003"):
        for form in (lid(lines[key]), str(lines[key].pk), lid(lines[key]).lower()):
            assert_error(call(client, f"{LINES}/{form}", tokens["cmcc"]), 404, "NOT_FOUND")
    assert call(client, f"{LINES}/{lid(lines['T-ZZ001-CMCC'])}", tokens["cmcc"]).status_code \
        == 200
    # ctcc_zz is CTCC in 郑州 only
    assert_error(call(client, f"{LINES}/{lid(lines['T-LY001-CTCC'])}", tokens["ctcc_zz"]),
                 404, "NOT_FOUND")
    # tower-borne rows are not lines of the API for anyone
    for key in ("TOWER-ZZ001", "TOWER-LY001-T-LY001-CUCC"):
        assert_error(call(client, f"{LINES}/{lid(lines[key])}", tokens["admin"]), 404,
                     "NOT_FOUND")
    assert_error(call(client, f"{LINES}/L999999", tokens["admin"]), 404, "NOT_FOUND")
    assert_error(call(client, f"{LINES}/X12", tokens["admin"]), 422, "INVALID")


def test_filters_never_widen_the_scope(client, tokens, lines):
    cmcc = tokens["cmcc"]
    assert listed(client, cmcc, site_code="LY001") == []
    assert listed(client, cmcc, tenancy_id="T-ZZ001-CUCC") == []
    assert listed(client, cmcc, operator="CUCC") == []
    assert listed(client, cmcc, bill_no="B-LY-2403") == []


def test_line_detail_has_the_trace_with_other_tenancies_masked_for_operators(
        client, tokens, lines):
    url = f"{LINES}/{lid(lines['T-ZZ001-CMCC'])}"
    mine = call(client, url, tokens["cmcc"]).json()
    text = json.dumps(mine, ensure_ascii=False)
    assert "T-ZZ001-CUCC" not in text and "T-ZZ001-CTCC" not in text
    assert mine["trace"]["tenancies"] == [
        ["T-ZZ001-CMCC", "CMCC", 31, "2024-05-01", "2024-05-31"],
        # the others in tenancy-code order (T-ZZ001-CTCC, then T-ZZ001-CUCC), masked
        ["OTHER-1", "OTHER", 15, "2024-05-17", "2024-05-31"],
        ["OTHER-2", "OTHER", 31, "2024-05-01", "2024-05-31"]]
    # the weights the share comes from stay: 40 A of 40 + 25 A, then of 40 + 25 + 15 A
    assert mine["trace"]["runs"][1]["weights"] == [["T-ZZ001-CMCC", "40"], ["OTHER-1", "15"],
                                                   ["OTHER-2", "25"]]
    assert mine["trace"]["receivable"] == mine["receivable"] and mine["disputes"] == []
    assert mine["explanation"]["zh"] == mine["trace"]["text_zh"]
    # the tower side sees the trace as computed
    full = call(client, url, tokens["clerk_zz"]).json()
    assert full["trace"] == lines["T-ZZ001-CMCC"].trace


def test_status_month_kind_and_since_filters(client, tokens, lines):
    admin = tokens["admin"]
    assert listed(client, admin, month="2024-03") == ["T-LY001-CTCC", "T-LY001-CUCC LUMP_SUM"]
    assert listed(client, admin, kind="LUMP_SUM") == ["T-LY001-CUCC LUMP_SUM"]
    assert listed(client, admin, site_code="ZZ002") == ["T-ZZ002-CMCC", "T-ZZ002-CTCC"]
    assert listed(client, admin, status="CONFIRMED") == []
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert listed(client, admin, pushed_since=future) == []
    assert listed(client, admin, updated_since=future) == []
    assert len(listed(client, admin, pushed_since="2000-01-01T00:00:00")) == 7
    for bad in ({"month": "2024-13"}, {"month": "2024-5"}, {"status": "TOWER"},
                {"kind": "X"}, {"pushed_since": "yesterday"}):
        assert_error(call(client, LINES, admin, **bad), 422, "INVALID")

    mark = timezone.now()
    assert post(client, CONFIRM, {"lines": [lid(lines["T-ZZ001-CMCC"])]},
                tokens["cmcc"]).status_code == 200
    assert listed(client, tokens["cmcc"]) == ["T-ZZ002-CMCC"]  # PUSHED by default
    assert listed(client, tokens["cmcc"], status="CONFIRMED") == ["T-ZZ001-CMCC"]
    assert listed(client, tokens["cmcc"], status="ALL",
                  updated_since=mark.isoformat()) == ["T-ZZ001-CMCC"]


def test_pages_and_their_bounds(client, tokens, lines):
    seen, offset = [], 0
    while offset is not None:
        body = call(client, LINES, tokens["admin"], limit=3, offset=offset).json()
        assert body["count"] == 7 and len(body["items"]) <= 3
        seen += [item["id"] for item in body["items"]]
        offset = body["next_offset"]
    assert len(set(seen)) == 7 and seen == sorted(seen, key=lambda i: int(i[1:]))
    for url in (LINES, "/api/v1/disputes"):
        for params in ({"limit": MAX_LIMIT + 1}, {"limit": 0}, {"offset": -1}):
            assert_error(call(client, url, tokens["cmcc"], **params), 422, "INVALID")
        assert call(client, url, tokens["cmcc"], limit=MAX_LIMIT).status_code == 200


# ---- confirming -------------------------------------------------------------------------------

def confirm_entries(*lns) -> int:
    return JournalEntry.objects.filter(kind="CONFIRM",
                                       reference__in=[lid(ln) for ln in lns]).count()


def test_confirm_and_retry_with_the_same_key(client, tokens, lines):
    mine = [lines["T-ZZ001-CMCC"], lines["T-ZZ002-CMCC"]]
    body = {"lines": [lid(mine[0]), mine[1].pk, lid(lines["T-ZZ001-CUCC"]), "nonsense"]}
    first = post(client, CONFIRM, body, tokens["cmcc"], key="cmcc-erp-0001")
    assert first.status_code == 200, first.content
    answer = first.json()
    assert answer["confirmed"] == sorted([lid(ln) for ln in mine], key=lambda i: int(i[1:]))
    assert answer["already_confirmed"] == []
    refused = {r["id"]: r for r in answer["refused"]}
    assert set(refused) == {"nonsense", lid(lines["T-ZZ001-CUCC"])}  # another operator's
    assert refused[lid(lines["T-ZZ001-CUCC"])]["code"] == "NOT_FOUND"
    assert refused["nonsense"]["code"] == "INVALID"
    assert all(r["message_zh"] and r["message_en"] for r in answer["refused"])
    assert confirm_entries(*mine) == 2
    assert Line.objects.get(pk=lines["T-ZZ001-CUCC"].pk).status == "PUSHED"

    again = post(client, CONFIRM, body, tokens["cmcc"], key="cmcc-erp-0001")
    assert again.status_code == 200 and again.json() == answer  # the same answer
    assert confirm_entries(*mine) == 2  # one journal entry per line, not two
    assert IdempotencyKey.objects.filter(key="cmcc-erp-0001").count() == 1

    # without the key the call is answered afresh: nothing is confirmed twice either
    fresh = post(client, CONFIRM, {"lines": [lid(mine[0])]}, tokens["cmcc"]).json()
    assert fresh == {"confirmed": [], "already_confirmed": [lid(mine[0])], "refused": []}
    assert confirm_entries(*mine) == 2

    # the key with another body, or at the other endpoint, is refused, not re-answered
    other = post(client, CONFIRM, {"lines": [lid(mine[0])]}, tokens["cmcc"],
                 key="cmcc-erp-0001")
    assert_error(other, 400, "INVALID")
    assert "Idempotency-Key" in other.json()["message_en"]
    reused = post(client, DISPUTES, {"disputes": [{"line": lid(mine[0]), "reason": "KWH"}]},
                  tokens["cmcc"], key="cmcc-erp-0001")
    assert_error(reused, 400, "INVALID")
    # the key is the caller's: another user may use the same string
    ctcc = post(client, CONFIRM, {"lines": [lid(lines["T-ZZ002-CTCC"])]}, tokens["ctcc_zz"],
                key="cmcc-erp-0001").json()
    assert ctcc["confirmed"] == [lid(lines["T-ZZ002-CTCC"])]


def test_confirm_refuses_lines_not_pending(client, tokens, users, lines):
    ln = lines["T-ZZ001-CMCC"]
    services.dispute_line(ln.pk, users["cmcc"], "KWH", "")
    answer = post(client, CONFIRM, {"lines": [lid(ln)]}, tokens["cmcc"]).json()
    assert answer["confirmed"] == [] and answer["refused"][0]["code"] == "CONFLICT"
    assert answer["refused"][0]["reason"] == "status DISPUTED"
    assert confirm_entries(ln) == 0


@pytest.mark.parametrize("who", ["clerk_zz", "viewer"])
def test_only_operators_and_the_province_admin_confirm(client, tokens, lines, who):
    ln = lines["T-ZZ001-CMCC"]
    response = post(client, CONFIRM, {"lines": [lid(ln)]}, tokens[who], key=f"{who}-1")
    assert_error(response, 403, "FORBIDDEN")
    assert Line.objects.get(pk=ln.pk).status == "PUSHED" and confirm_entries(ln) == 0
    assert not IdempotencyKey.objects.exists()  # a refused call spends no key
    admin = post(client, CONFIRM, {"lines": [lid(ln), lid(lines["TOWER-ZZ001"])]},
                 tokens["admin"]).json()
    assert admin["confirmed"] == [lid(ln)]
    assert [r["code"] for r in admin["refused"]] == ["NOT_FOUND"]  # tower-borne: not a line


def test_confirm_body_and_key_bounds(client, tokens, lines):
    cmcc = tokens["cmcc"]
    assert_error(post(client, CONFIRM, {"lines": []}, cmcc), 422, "INVALID")
    assert_error(post(client, CONFIRM, {"lines": list(range(1, 5002))}, cmcc), 422, "INVALID")
    assert_error(post(client, CONFIRM, {"ids": [1]}, cmcc), 422, "INVALID")
    assert_error(post(client, CONFIRM, {"lines": [1]}, cmcc, key="k" * 101), 422, "INVALID")
    # 5000 ids: the operator's two pending lines and 4998 that do not exist (ids keep
    # growing across tests on PostgreSQL, so none are assumed free below some number)
    mine = [lines["T-ZZ001-CMCC"].pk, lines["T-ZZ002-CMCC"].pk]
    top = Line.objects.order_by("-pk").values_list("pk", flat=True).first()
    big = post(client, CONFIRM, {"lines": mine + list(range(top + 1, top + 4999))}, cmcc,
               key="k" * 100)
    assert big.status_code == 200
    assert sorted(big.json()["confirmed"]) == sorted(
        [lid(lines["T-ZZ001-CMCC"]), lid(lines["T-ZZ002-CMCC"])])
    assert len(big.json()["refused"]) == 4998


def test_writes_need_authentication(client, lines):
    assert_error(post(client, CONFIRM, {"lines": [1]}), 401, "UNAUTHORIZED")
    assert_error(post(client, DISPUTES, {"disputes": [{"line": 1, "reason": "KWH"}]}), 401,
                 "UNAUTHORIZED")


# ---- disputing --------------------------------------------------------------------------------

def test_disputes_answer_per_item(client, tokens, lines):
    cmcc = lines["T-ZZ001-CMCC"]
    other = lines["T-ZZ002-CMCC"]
    confirmed = post(client, CONFIRM, {"lines": [lid(other)]}, tokens["cmcc"]).json()
    assert confirmed["confirmed"] == [lid(other)]
    body = {"disputes": [
        {"line": lid(cmcc), "reason": "KWH", "comment": "电表读数与我方抄表不符"},
        {"line": lid(lines["T-ZZ001-CUCC"]), "reason": "KWH"},    # another operator's
        {"line": cmcc.pk, "reason": "WEATHER", "comment": "x"},    # no such reason
        {"line": lid(other), "reason": "PRICE"},                  # already confirmed
        {"line": "L999999", "reason": "OTHER"},                   # no such line
        {"line": "???", "reason": "KWH"},
        {"line": lid(lines["TOWER-ZZ001"]), "reason": "KWH"},
    ]}
    response = post(client, DISPUTES, body, tokens["cmcc"], key="cmcc-d-1")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["line"] for r in results] == [str(d["line"]) for d in body["disputes"]]
    assert results[0]["ok"] and results[0]["status"] == "OPEN"
    dispute = Dispute.objects.get()
    assert results[0]["dispute"] == f"D{dispute.pk}" and dispute.line_id == cmcc.pk
    assert dispute.comment == "电表读数与我方抄表不符"
    codes = [r["error"]["code"] for r in results[1:]]
    assert codes == ["NOT_FOUND", "INVALID", "CONFLICT", "NOT_FOUND", "INVALID", "NOT_FOUND"]
    assert all(not r["ok"] and r["error"]["message_zh"] and r["error"]["message_en"]
               for r in results[1:])
    assert "WEATHER" in results[2]["error"]["message_en"]
    assert Line.objects.get(pk=cmcc.pk).status == "DISPUTED"

    again = post(client, DISPUTES, body, tokens["cmcc"], key="cmcc-d-1")
    assert again.json() == response.json() and Dispute.objects.count() == 1
    # without the key a second dispute of the disputed line is a conflict
    second = post(client, DISPUTES, {"disputes": [{"line": lid(cmcc), "reason": "KWH"}]},
                  tokens["cmcc"]).json()["results"][0]
    assert not second["ok"] and second["error"]["code"] == "CONFLICT"


def test_reason_other_needs_a_comment(client, tokens, lines):
    ln = lines["T-ZZ001-CMCC"]
    result = post(client, DISPUTES, {"disputes": [{"line": lid(ln), "reason": "OTHER"}]},
                  tokens["cmcc"]).json()["results"][0]
    assert result["error"]["code"] == "INVALID" and "comment" in result["error"]["message_en"]


@pytest.mark.parametrize("who", ["clerk_zz", "viewer", "admin"])
def test_only_operators_dispute(client, tokens, lines, who):
    body = {"disputes": [{"line": lid(lines["T-ZZ001-CMCC"]), "reason": "KWH"}]}
    assert_error(post(client, DISPUTES, body, tokens[who]), 403, "FORBIDDEN")
    assert not Dispute.objects.exists()


def test_disputes_body_bounds(client, tokens, lines):
    one = {"line": lid(lines["T-ZZ001-CMCC"]), "reason": "KWH"}
    assert_error(post(client, DISPUTES, {"disputes": []}, tokens["cmcc"]), 422, "INVALID")
    assert_error(post(client, DISPUTES, {"disputes": [one] * 1001}, tokens["cmcc"]), 422,
                 "INVALID")
    assert_error(post(client, DISPUTES, {"disputes": [{"reason": "KWH"}]}, tokens["cmcc"]),
                 422, "INVALID")
    assert not Dispute.objects.exists()


def test_disputes_list_in_scope_with_the_answer(client, tokens, users, lines):
    cmcc, ctcc = lines["T-ZZ001-CMCC"], lines["T-ZZ001-CTCC"]
    for token, ln in ((tokens["cmcc"], cmcc), (tokens["ctcc_zz"], ctcc)):
        result = post(client, DISPUTES, {"disputes": [{"line": lid(ln), "reason": "RATIO",
                                                       "comment": "比例有误"}]},
                      token).json()["results"][0]
        assert result["ok"], result
    adjustment = services.answer_dispute(Dispute.objects.get(line=cmcc).pk, users["clerk_zz"],
                                         "PARTIAL", "按新比例调整", new_amount="2000.00")
    items = call(client, "/api/v1/disputes", tokens["cmcc"]).json()["items"]
    assert len(items) == 1
    d = items[0]
    assert (d["line"], d["tenancy_id"], d["operator"], d["reason"]) == (
        lid(cmcc), "T-ZZ001-CMCC", "CMCC", "RATIO")
    assert (d["status"], d["answer"], d["new_amount"], d["adjustment"]) == (
        "PARTIAL", "按新比例调整", "2000.00", lid(adjustment))
    assert d["answered_at"] and d["due"] and d["round"] == 1
    assert [x["line"] for x in call(client, "/api/v1/disputes", tokens["ctcc_zz"])
            .json()["items"]] == [lid(ctcc)]
    assert len(call(client, "/api/v1/disputes", tokens["clerk_zz"]).json()["items"]) == 2
    assert call(client, "/api/v1/disputes", tokens["clerk_ly"]).json()["items"] == []
    assert [x["line"] for x in call(client, "/api/v1/disputes", tokens["admin"],
                                    status="ANSWERED").json()["items"]] == [lid(cmcc)]
    assert [x["line"] for x in call(client, "/api/v1/disputes", tokens["admin"],
                                    status="OPEN").json()["items"]] == [lid(ctcc)]

    # the operator now has the adjustment line to confirm, explained in both languages
    pending = call(client, LINES, tokens["cmcc"], kind="ADJUSTMENT").json()["items"]
    assert [(p["id"], p["adjusts"], p["receivable"]) for p in pending] == [
        (lid(adjustment), lid(cmcc), "2000.00")]
    assert lid(cmcc) in pending[0]["explanation"]["en"]
    assert "2000.00" in pending[0]["explanation"]["zh"]
    detail = call(client, f"{LINES}/{lid(cmcc)}", tokens["cmcc"]).json()
    assert detail["status"] == "SUPERSEDED" and detail["disputes"][0]["status"] == "PARTIAL"


# ---- documentation -----------------------------------------------------------------------------

def test_openapi_documents_the_settlement_routes_with_examples(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path, method in (("/api/v1/lines", "get"), ("/api/v1/lines/{line_id}", "get"),
                         ("/api/v1/lines/confirm", "post"), ("/api/v1/lines/disputes", "post"),
                         ("/api/v1/disputes", "get")):
        op = paths[path][method]
        assert op["summary"] and op["description"], path
    confirm = paths["/api/v1/lines/confirm"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in confirm["parameters"]]
    assert {"200", "403", "409"} <= set(confirm["responses"])
    schemas = doc["components"]["schemas"]
    for name in ("ConfirmIn", "ConfirmOut", "DisputesIn", "DisputesOut", "LineOut",
                 "DisputeOut"):
        assert schemas[name].get("examples"), name
    line = schemas["LineOut"]["properties"]
    assert {"id", "bill_no", "site_code", "tenancy_id", "receivable", "confirm_due",
            "explanation"} <= set(line)
