"""The rent pages with real figures: the clerk's overview (renewals, overdue, benchmark
finding, site-fee gap), a site fee entered on its page, the refusals of a clerk outside
the site's city and of an operator, and the operator's view without landlords."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.integration.test_rent import example_contract
from towerledger.programs.rent import services
from towerledger.programs.rent.models import Landlord, RentFinding, SiteFeeAgreement
from towerledger.sites.models import Site

D = Decimal
pytestmark = pytest.mark.django_db


def login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_overview_site_fees_and_scope(users):
    today = timezone.localdate()
    c = example_contract(users["admin"], start_date=today - timedelta(days=400),
                         end_date=today + timedelta(days=30))
    c.landlord = Landlord.objects.create(name="张三", bank_account="6228480000000001")
    c.save()
    services.save_contract("HT-ZZ002", user=users["admin"], site=Site.objects.get(
        site_code="ZZ002"), start_date=today - timedelta(days=10),
        end_date=today + timedelta(days=1000), annual_rent=D("3000.00"), cycle="YEARLY",
        pass_through="RATIO")
    services.refresh_findings(today, threshold=D("120"))
    assert RentFinding.objects.get().contract.contract_no == "HT-ZZ001"
    clerk = login(users["clerk_zz"])
    html = clerk.get("/programs/rent/").content.decode()
    assert 'id="rent-renewals"' in html and html.count("HT-ZZ001") >= 4   # list, renewal,
    assert "逾期" in html and "3000.00" in html                          # overdue, finding
    assert "style=" not in html and "<script>" not in html
    page = clerk.post("/programs/rent/site-fees/new/", {
        "tenancy_id": "T-ZZ001-CUCC", "monthly_fee": "310.00",
        "effective_from": date(2024, 6, 16).isoformat(), "reason": "包干协议"}, follow=True)
    assert "已登记场地费包干" in page.content.decode()
    assert SiteFeeAgreement.objects.get().monthly_fee == D("310.00")
    ly = login(users["clerk_ly"])
    ly.post("/programs/rent/site-fees/new/", {"tenancy_id": "T-ZZ001-CMCC", "monthly_fee": "1",
                                              "effective_from": "2024-06-01", "reason": "x"})
    assert SiteFeeAgreement.objects.count() == 1                          # not Luoyang's
    assert ly.get("/programs/rent/contracts/HT-ZZ001/").status_code == 404
    op = login(users["ctcc_zz"])
    assert op.post("/programs/rent/contracts/HT-ZZ001/pay/", {"seq": "1"}).status_code == 403
    html = op.get("/programs/rent/contracts/HT-ZZ001/").content.decode()
    assert "HT-ZZ001" in html and "6228480000000001" not in html and "张三" not in html
    assert "rent-schedule" not in html
    assert "6228480000000001" not in op.get("/programs/rent/").content.decode()
