"""The rent program's read endpoints: scoped, and operators never see landlords' bank
details, schedules or payments."""

from datetime import date
from decimal import Decimal

import pytest

from tests.api.conftest import call
from tests.integration.test_rent import example_contract
from towerledger.programs.rent import services

pytestmark = pytest.mark.django_db


def test_contracts_lines_and_scope(client, users, tokens):
    c = example_contract(users["admin"])
    from towerledger.programs.rent.models import Landlord
    c.landlord = Landlord.objects.create(name="张三", bank_account="6228480000000001")
    c.save()
    services.record_payment(c, payment_no="FK-5", paid_date=date(2024, 4, 2), seq=5,
                            user=users["admin"], today=date(2024, 4, 2))
    clerk = call(client, "/api/v1/rent/contracts", tokens["clerk_zz"]).json()
    assert clerk["count"] == 1
    assert clerk["items"][0]["landlord"]["bank_account"] == "6228480000000001"
    assert call(client, "/api/v1/rent/contracts", tokens["clerk_ly"]).json()["count"] == 0
    op = call(client, "/api/v1/rent/contracts", tokens["ctcc_zz"])
    assert op.status_code == 200 and "6228480000000001" not in op.text
    assert op.json()["items"][0]["landlord"] is None
    assert call(client, "/api/v1/rent/schedule", tokens["ctcc_zz"],
                contract_no="HT-ZZ001").status_code == 403
    assert call(client, "/api/v1/rent/schedule", tokens["clerk_ly"],
                contract_no="HT-ZZ001").status_code == 404
    sched = call(client, "/api/v1/rent/schedule", tokens["clerk_zz"],
                 contract_no="HT-ZZ001").json()
    assert [(i["seq"], i["amount"], i["paid"]) for i in sched][4] == (5, "3090.00", True)
    assert call(client, "/api/v1/rent/payments", tokens["ctcc_zz"]).status_code == 403
    assert call(client, "/api/v1/rent/payments", tokens["clerk_zz"]).json()["count"] == 1
    lines = call(client, "/api/v1/rent/lines", tokens["ctcc_zz"]).json()
    assert [(x["tenancy_id"], Decimal(x["receivable"])) for x in lines["items"]] == [
        ("T-ZZ001-CTCC", Decimal("509.34"))]
    assert "第2合同年度" in lines["items"][0]["text_zh"]
    assert call(client, "/api/v1/rent/lines", tokens["clerk_zz"]).json()["count"] == 3
    assert call(client, "/api/v1/rent/months", tokens["cmcc"]).status_code == 403
