"""The 转改直 and market-trading read endpoints: staff see the figures of their scope,
operators only their own share — no account, contract or price (the worked examples of
docs/programs/conversion.md and trading.md)."""

import json
from decimal import Decimal

from tests.api.conftest import call
from tests.integration.test_conversion import converted  # noqa: F401 — fixture
from tests.integration.test_trading import enrolled  # noqa: F401 — fixture

D = Decimal


def test_conversion_endpoints(converted, tokens, client):  # noqa: F811
    r = call(client, "/api/v1/conversions/savings", tokens["admin"], first="2024-07",
             last="2024-08").json()
    assert [(x["month"], D(x["saving"])) for x in r] == [("2024-07-01", D("2092.50")),
                                                         ("2024-08-01", D("2092.50"))]
    mine = call(client, "/api/v1/conversions/savings", tokens["cmcc"], first="2024-07",
                last="2024-07").json()
    assert D(mine[0]["saving"]) == D("1046.25")
    assert call(client, "/api/v1/conversions/savings", tokens["admin"], first="2024-08",
                last="2024-07").status_code == 422
    p = call(client, "/api/v1/conversions/project", tokens["clerk_zz"],
             project=converted.code).json()
    assert p["status"] == "DONE" and [s["step"] for s in p["steps"]] == [
        "submit", "approve", "build", "complete"]
    assert p["payback"]["reached"] == "2025-05-01" and D(p["payback"]["projected_months"]) == \
        D("11.1")
    assert call(client, "/api/v1/conversions/project", tokens["clerk_ly"],
                project=converted.code).status_code == 404
    for path in ("/api/v1/conversions/project", "/api/v1/conversions/projects",
                 "/api/v1/conversions/candidates"):
        assert call(client, path, tokens["cmcc"], project=converted.code).status_code == 403
    league = call(client, "/api/v1/conversions/league", tokens["ctcc_zz"]).json()
    assert league[0]["cost"] is None and D(league[0]["savings"]) == D("4315.74")
    assert "A-100" not in json.dumps(league) and "21000" not in json.dumps(league)
    cands = call(client, "/api/v1/conversions/candidates", tokens["admin"]).json()
    assert [c["account_no"] for c in cands["items"]] == ["A-300"]


def test_trading_endpoints(enrolled, tokens, client):  # noqa: F811
    q = {"first": "2024-05", "last": "2024-06"}
    admin = call(client, "/api/v1/trading/savings", tokens["admin"], **q).json()
    assert D(admin["total"]) == D("150.00")
    assert [(x["key"], D(x["saving"])) for x in admin["by_operator"]] == [
        ("CMCC", D("63.00")), ("", D("45.00")), ("CTCC", D("42.00"))]
    ctcc = call(client, "/api/v1/trading/savings", tokens["ctcc_zz"], **q)
    body = ctcc.json()
    assert D(body["total"]) == D("42.00") and body["by_account"] == []
    text = json.dumps(body)
    for secret in ("A-200", "TC-2024", "0.62", "CMCC", "ZZ003"):
        assert secret not in text, secret
    assert call(client, "/api/v1/trading/contracts", tokens["cmcc"]).status_code == 403
    contracts = call(client, "/api/v1/trading/contracts", tokens["clerk_zz"]).json()
    assert contracts[0]["contract_no"] == "TC-2024" and contracts[0]["accounts"] == ["A-200"]
    assert call(client, "/api/v1/trading/contracts", tokens["clerk_ly"]).json() == []
