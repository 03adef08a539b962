"""Each endpoint shows each role exactly its scope (the small province of tests.helpers).

郑州: ZZ001 (CMCC, CUCC, CTCC), ZZ002 (CMCC, CTCC), ZZ003 (no tenancy, hangs off ZZ001);
洛阳: LY001 (CUCC, CTCC until 2024-03-31). Accounts A-100 → ZZ001, A-200 → ZZ002 70 % +
ZZ003 30 %, A-300 → LY001.
"""

import pytest

from tests.api.conftest import call


def keys(client, url, token, key, **params):
    response = call(client, url, token, **params)
    assert response.status_code == 200, response.content
    return sorted(item[key] for item in response.json()["items"])


@pytest.mark.parametrize("who, expected", [
    ("admin", ["LY001", "ZZ001", "ZZ002", "ZZ003"]),
    ("viewer", ["LY001", "ZZ001", "ZZ002", "ZZ003"]),
    ("clerk_zz", ["ZZ001", "ZZ002", "ZZ003"]),
    ("clerk_ly", ["LY001"]),
    ("cmcc", ["ZZ001", "ZZ002"]),  # only sites where CMCC holds a tenancy
    ("ctcc_zz", ["ZZ001", "ZZ002"]),  # CTCC in 郑州 only: not LY001
])
def test_sites_by_role(client, tokens, who, expected):
    assert keys(client, "/api/v1/sites", tokens[who], "site_code") == expected


@pytest.mark.parametrize("who, expected", [
    ("admin", ["T-LY001-CTCC", "T-LY001-CUCC", "T-ZZ001-CMCC", "T-ZZ001-CTCC", "T-ZZ001-CUCC",
               "T-ZZ002-CMCC", "T-ZZ002-CTCC"]),
    ("clerk_ly", ["T-LY001-CTCC", "T-LY001-CUCC"]),
    ("cmcc", ["T-ZZ001-CMCC", "T-ZZ002-CMCC"]),
    ("ctcc_zz", ["T-ZZ001-CTCC", "T-ZZ002-CTCC"]),
])
def test_tenancies_by_role(client, tokens, who, expected):
    assert keys(client, "/api/v1/tenancies", tokens[who], "tenancy_id") == expected


def test_site_detail_lists_only_what_the_caller_may_see(client, tokens):
    as_operator = call(client, "/api/v1/sites/ZZ001", tokens["cmcc"]).json()
    assert as_operator["tenancies"] == ["T-ZZ001-CMCC"]
    assert as_operator["accounts"] == []  # operators never see supply accounts
    as_clerk = call(client, "/api/v1/sites/ZZ001", tokens["clerk_zz"]).json()
    assert as_clerk["tenancies"] == ["T-ZZ001-CMCC", "T-ZZ001-CTCC", "T-ZZ001-CUCC"]
    assert as_clerk["accounts"] == ["A-100"]
    assert as_clerk["city"] == "郑州市" and as_clerk["province"] == "河南省"
    assert as_clerk["longitude"] == "113.650000"


def test_site_out_of_scope_is_404(client, tokens):
    for who, site in (("cmcc", "ZZ003"), ("cmcc", "LY001"), ("ctcc_zz", "LY001"),
                      ("clerk_ly", "ZZ001"), ("clerk_zz", "LY001")):
        response = call(client, f"/api/v1/sites/{site}", tokens[who])
        assert response.status_code == 404, (who, site)
        assert response.json()["code"] == "NOT_FOUND"
    assert call(client, "/api/v1/sites/NOPE", tokens["admin"]).status_code == 404


def test_tenancy_detail_uses_canonical_names(client, tokens):
    response = call(client, "/api/v1/tenancies/T-LY001-CUCC", tokens["clerk_ly"])
    assert response.json() == {
        "tenancy_id": "T-LY001-CUCC", "site_code": "LY001", "operator": "CUCC",
        "start_date": "2022-01-01", "end_date": None, "settlement_mode": "LUMP_SUM",
        "lump_sum_monthly": "800.00", "rated_power_w": "1300.00", "dc_current_a": "22.00",
        "agreed_ratio": None}


def test_tenancy_of_another_operator_or_city_is_404(client, tokens):
    for who, tenancy in (("cmcc", "T-ZZ001-CUCC"), ("cmcc", "T-ZZ002-CTCC"),
                         ("ctcc_zz", "T-LY001-CTCC"), ("clerk_zz", "T-LY001-CUCC")):
        assert call(client, f"/api/v1/tenancies/{tenancy}", tokens[who]).status_code == 404
    assert call(client, "/api/v1/tenancies/T-ZZ002-CTCC", tokens["ctcc_zz"]).status_code == 200


def test_accounts_by_role(client, tokens):
    assert keys(client, "/api/v1/accounts", tokens["clerk_zz"], "account_no") == ["A-100",
                                                                                  "A-200"]
    assert keys(client, "/api/v1/accounts", tokens["clerk_ly"], "account_no") == ["A-300"]
    a200 = call(client, "/api/v1/accounts/A-200", tokens["clerk_zz"]).json()
    assert a200["sites"] == [{"site_code": "ZZ002", "split_ratio": "70.000000"},
                             {"site_code": "ZZ003", "split_ratio": "30.000000"}]
    assert a200["supply_mode"] == "DIRECT" and a200["contract_price"] == "0.6200"
    assert call(client, "/api/v1/accounts/A-300", tokens["clerk_zz"]).status_code == 404


@pytest.mark.parametrize("who", ["cmcc", "ctcc_zz"])
def test_operators_never_see_accounts_or_bills(client, tokens, bills, who):
    for url in ("/api/v1/accounts", "/api/v1/bills"):
        response = call(client, url, tokens[who])
        assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"
    assert call(client, "/api/v1/accounts/A-100", tokens[who]).status_code == 404
    assert call(client, f"/api/v1/bills/{bills['zz'].pk}", tokens[who]).status_code == 404


def test_bills_by_city_with_flags(client, tokens, bills):
    assert keys(client, "/api/v1/bills", tokens["clerk_zz"], "bill_no") == ["B-ZZ-2405"]
    assert keys(client, "/api/v1/bills", tokens["admin"], "bill_no") == ["B-LY-2405",
                                                                         "B-ZZ-2405"]
    detail = call(client, f"/api/v1/bills/{bills['zz'].pk}", tokens["clerk_zz"]).json()
    assert detail["account_no"] == "A-100" and detail["amount"] == "4752.00"
    assert detail["period_start"] == "2024-05-01" and detail["kwh"] == "4320.00"
    assert [(f["code"], f["severity"], f["status"]) for f in detail["flags"]] == [
        ("YOY", "WARN", "OPEN")]
    assert detail["flags"][0]["figures"] == {"ratio": "1.40"}
    assert call(client, f"/api/v1/bills/{bills['ly'].pk}", tokens["clerk_zz"]).status_code == 404


def test_filters(client, tokens, bills):
    admin = tokens["admin"]
    assert keys(client, "/api/v1/sites", admin, "site_code", city="洛阳市") == ["LY001"]
    assert keys(client, "/api/v1/sites", admin, "site_code", county="金水区") == [
        "ZZ001", "ZZ002", "ZZ003"]
    assert keys(client, "/api/v1/sites", admin, "site_code", q="微站") == ["ZZ003"]
    assert keys(client, "/api/v1/sites", admin, "site_code", q="zz00", status="ACTIVE") == [
        "ZZ001", "ZZ002", "ZZ003"]
    assert keys(client, "/api/v1/tenancies", admin, "tenancy_id", site_code="LY001",
                active_on="2024-04-15") == ["T-LY001-CUCC"]
    assert keys(client, "/api/v1/tenancies", admin, "tenancy_id", operator="CTCC",
                city="郑州市") == ["T-ZZ001-CTCC", "T-ZZ002-CTCC"]
    assert keys(client, "/api/v1/accounts", admin, "account_no", site_code="ZZ003") == ["A-200"]
    assert keys(client, "/api/v1/bills", admin, "bill_no", blocked="true") == ["B-LY-2405"]
    assert keys(client, "/api/v1/bills", admin, "bill_no", site_code="ZZ001") == ["B-ZZ-2405"]
    assert keys(client, "/api/v1/bills", admin, "bill_no", period_to="2024-04-01") == [
        "B-LY-2405"]
    # a filter never widens the scope
    assert keys(client, "/api/v1/tenancies", tokens["cmcc"], "tenancy_id",
                site_code="ZZ001") == ["T-ZZ001-CMCC"]
    assert keys(client, "/api/v1/sites", tokens["ctcc_zz"], "site_code", city="洛阳市") == []


def test_user_without_profile_sees_nothing(client, db, province):
    from django.contrib.auth import get_user_model

    from towerledger.api.tokens import create_token

    stranger = get_user_model().objects.create_user("stranger", password="x-Secret-123")
    _, raw = create_token(stranger, "no role")
    assert call(client, "/api/v1/me", raw).json()["scope"]["level"] == "NONE"
    for url in ("/api/v1/sites", "/api/v1/tenancies", "/api/v1/accounts", "/api/v1/bills",
                "/api/v1/lines", "/api/v1/disputes"):
        assert call(client, url, raw).status_code == 403, url
