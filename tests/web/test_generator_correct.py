"""油机发电 run page: its payment entries and the 更正 Correct form of a paid, unbilled run
(for the roles that pay runs, in their scope); another city's clerk and a viewer get the
product's 404; a bad value or a billed run comes back on the page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.integration.test_generator import set_up
from towerledger.analysis.books import check_books
from towerledger.exchange.services import run_import
from towerledger.programs.generator import services
from towerledger.programs.generator.models import Finding, Run

pytestmark = pytest.mark.django_db
FORM = {"litres": "30.00", "fuel_price": "7.86", "labour_cost": "150.00",
        "transport_cost": "60.00", "paid_date": "2024-07-22", "site_code": "ZZ001",
        "outage_no": "O-2407-01", "reason": "油量抄错"}


def test_correct_on_the_runs_page(users, tmp_path, client):
    assert run_import("generator_runs", set_up(tmp_path), users["clerk_zz"]).stored
    r1 = Run.objects.get(run_no="R-2407-01")
    page, act = reverse("generator_run", args=[r1.pk]), reverse("generator_run_correct",
                                                               args=[r1.pk])
    client.force_login(users["clerk_zz"])
    r = client.get(page)
    body = r.content.decode()
    assert r.status_code == 200 and 'id="correct-form"' in body and "GEN-PAY-R-2407-01" in body

    # a bad value: back on the page, named, nothing changed
    r = client.post(act, FORM | {"litres": "三十"})
    assert r.status_code == 400 and "耗油量" in r.content.decode()
    assert Run.objects.get(pk=r1.pk).litres == Decimal("26.50")

    r = client.post(act, FORM)
    assert r.status_code == 302 and r.headers["Location"] == page
    r1.refresh_from_db()
    assert (r1.litres, r1.cost, r1.payment_version) == (Decimal("30.00"), Decimal("445.80"), 1)
    body = client.get(page).content.decode()
    assert "GEN-REV-R-2407-01#1" in body and "GEN-PAY-R-2407-01#1" in body and "油量抄错" in body
    assert check_books() == []
    assert client.post(act, FORM).status_code == 302                # again: nothing new
    assert Run.objects.get(pk=r1.pk).payment_version == 1

    # another city's clerk and a viewer: the product's 404, nothing changed
    for who in ("clerk_ly", "viewer"):
        client.force_login(users[who])
        assert client.post(act, FORM | {"litres": "1.00"}).status_code == 404
    client.force_login(users["clerk_ly"])
    assert client.get(page).status_code == 404
    client.force_login(users["viewer"])
    assert 'id="correct-form"' not in client.get(page).content.decode()
    assert Run.objects.get(pk=r1.pk).litres == Decimal("30.00")

    # billed: no form; a post is refused on the page
    for f in Finding.objects.filter(run=r1, severity="BLOCK", resolved_at=None):
        services.resolve_finding(f.pk, users["clerk_zz"], "已核实")
    assert services.bill_runs(users["clerk_zz"], run_ids=[r1.pk]).billed == ["R-2407-01"]
    client.force_login(users["clerk_zz"])
    assert 'id="correct-form"' not in client.get(page).content.decode()
    r = client.post(act, FORM | {"litres": "31.00"})
    assert r.status_code == 400 and 'id="correct-errors"' in r.content.decode()
    assert "已出账，不能在此更正：请对其发电明细提出争议 → 调账" in r.content.decode()
    assert Run.objects.get(pk=r1.pk).litres == Decimal("30.00")
