"""GET /api/v1/tax-factors (issue 12): the table with its history within each role's scope,
one row, and which row gives the factor of a line (the row in force on the bill's period end,
account > operator > province > all provinces > formula)."""

from datetime import date
from decimal import Decimal

import pytest

from tests.api.conftest import call
from tests.api.test_lines import assert_error
from towerledger.org.models import Operator, Province
from towerledger.sites.models import SupplyAccount, TaxFactorRate
from towerledger.sites.tax_factors import add_rate

URL = "/api/v1/tax-factors"
D = Decimal


@pytest.fixture
def table(users):
    admin, henan = users["admin"], Province.objects.get(name="河南省")
    rows = {
        "old": add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.12"),
                        province=henan, invoice_type="GENERAL", reason="文件一"),
        "new": add_rate(admin, effective_from=date(2024, 5, 20), factor=D("0.11"),
                        province=henan, invoice_type="GENERAL", reason="文件二"),
        "ctcc": add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0"),
                         operator=Operator.objects.get(code="CTCC"), reason="拒绝加价"),
        "a300": add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.05"),
                         account=SupplyAccount.objects.get(account_no="A-300"), reason="户号"),
    }
    return rows


def ids(client, token, **params):
    r = call(client, URL, token, **params)
    assert r.status_code == 200, r.content
    return {item["id"] for item in r.json()["items"]}


def test_history_of_a_key_in_date_order_with_the_row_in_force(client, tokens, table):
    r = call(client, URL, tokens["admin"], province="河南省", invoice_type="GENERAL")
    items = r.json()["items"]
    assert [(i["effective_from"], i["factor"], i["in_force"]) for i in items] == [
        ("2024-01-01", "0.1200", False), ("2024-05-20", "0.1100", True)]
    assert items[0]["province"] == "河南省" and items[0]["operator"] is None
    seeded = TaxFactorRate.objects.filter(effective_from=date(2000, 1, 1)).count()
    assert r.json()["count"] == 2 and len(ids(client, tokens["admin"])) == seeded + 4
    assert ids(client, tokens["admin"], effective_on_or_before="2024-03-01") == {
        r.pk for r in TaxFactorRate.objects.filter(effective_from__lte=date(2024, 3, 1))}
    one = call(client, f"{URL}/{table['ctcc'].pk}", tokens["admin"]).json()
    assert (one["operator"], one["factor"], one["ends"]) == ("CTCC", "0.0000", False)
    assert call(client, URL, tokens["admin"], operator="XX").status_code in (400, 422)


@pytest.mark.parametrize("who, sees_ctcc, sees_a300", [
    ("admin", True, True), ("viewer", True, True), ("clerk_zz", True, False),
    ("clerk_ly", True, True), ("cmcc", False, False), ("ctcc_zz", True, False),
])
def test_each_role_reads_its_scope(client, tokens, table, who, sees_ctcc, sees_a300):
    seen = ids(client, tokens[who])
    assert (table["ctcc"].pk in seen, table["a300"].pk in seen) == (sees_ctcc, sees_a300)
    assert table["new"].pk in seen      # the province's rows are everybody's
    for key, visible in (("ctcc", sees_ctcc), ("a300", sees_a300)):
        r = call(client, f"{URL}/{table[key].pk}", tokens[who])
        assert r.status_code == (200 if visible else 404), (who, key)


def test_which_row_gives_the_factor_of_a_bill_spanning_a_change(client, tokens, table):
    def applicable(token, account_no, **params):
        return call(client, f"{URL}/applicable/{account_no}", token, **params)

    # A-100 GENERAL, a bill of 2024-05-01..05-31: the row in force on the 31st, not the 1st
    r = applicable(tokens["admin"], account_no="A-100", operator="CMCC", on="2024-05-31")
    body = r.json()
    assert (body["factor"], body["level"], body["row"]["id"]) == (
        "0.1100", "PROVINCE", table["new"].pk)
    body = applicable(tokens["admin"], account_no="A-100", operator="CMCC",
                      on="2024-05-19").json()
    assert (body["factor"], body["row"]["id"]) == ("0.1200", table["old"].pk)
    body = applicable(tokens["admin"], account_no="A-100", operator="CTCC",
                      on="2024-05-31").json()
    assert (body["factor"], body["level"]) == ("0.0000", "OPERATOR")
    body = applicable(tokens["clerk_ly"], account_no="A-300", operator="CTCC",
                      on="2024-05-31").json()
    assert (body["factor"], body["level"]) == ("0.0500", "ACCOUNT")
    body = applicable(tokens["admin"], account_no="A-200", operator="CMCC", on="2024-05-31",
                      invoice_type="SPECIAL_9").json()
    assert (body["factor"], body["level"]) == ("0.0367", "DEFAULT")
    # an account outside the caller's scope is not found; operators see no accounts
    assert_error(applicable(tokens["clerk_ly"], account_no="A-100", operator="CMCC",
                            on="2024-05-31"), 404, "NOT_FOUND")
    assert_error(applicable(tokens["cmcc"], account_no="A-100", operator="CMCC",
                            on="2024-05-31"), 404, "NOT_FOUND")


def test_the_api_does_not_write(client, tokens, table):
    r = client.post(URL, {}, content_type="application/json",
                    headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert r.status_code == 405


def hidden_tax_rows(own_operator: str) -> list[str]:
    """Ids of tax-factor rows an operator user must not see (tests.api.test_routes): an
    account override and another operator's override."""
    other = "CUCC" if own_operator != "CUCC" else "CMCC"
    rows = [add_rate(None, effective_from=date(2024, 2, 1), factor=D("0.05"),
                     account=SupplyAccount.objects.get(account_no="A-100"), reason="test"),
            add_rate(None, effective_from=date(2024, 2, 1), factor=D("0"),
                     operator=Operator.objects.get(code=other), reason="test")]
    return [str(r.pk) for r in rows]
