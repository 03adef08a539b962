"""POST /api/v1/corrections/…: preview, apply, idempotent retry, reason and scope."""

import json

from django.utils import timezone

from tests.integration.test_settlement import paid_may
from towerledger.analysis.books import check_books
from towerledger.bills.models import Bill
from towerledger.settlement.models import Line


def post(client, url, token, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def test_void_and_refund_through_the_api(client, users, tokens, tmp_path):
    b = paid_may(tmp_path, users)
    url = f"/api/v1/corrections/bills/{b.pk}/void"
    r = post(client, url, tokens["clerk_zz"], {"reason": "重复缴费", "preview": True})
    assert r.status_code == 200, r.content
    body = r.json()
    assert not body["done"] and len(body["changes"]) == 3
    assert all(c["after"] == "0.00" and c["line"] is None for c in body["changes"])
    assert Bill.objects.get(pk=b.pk).status == "PAID"
    assert post(client, url, tokens["clerk_ly"], {"reason": "x"}).status_code == 404
    assert post(client, url, tokens["cmcc"], {"reason": "x"}).status_code in (403, 404)
    assert post(client, url, tokens["clerk_zz"], {"reason": ""}).status_code in (400, 422)
    first = post(client, url, tokens["clerk_zz"], {"reason": "重复缴费"}, key="k-1")
    assert first.status_code == 200 and first.json()["done"]
    retry = post(client, url, tokens["clerk_zz"], {"reason": "重复缴费"}, key="k-1")
    assert retry.json() == first.json()   # the same answer, nothing done twice
    assert Line.objects.filter(bill=b, kind="ADJUSTMENT").count() == 3
    assert Bill.objects.get(pk=b.pk).status == "VOID"
    assert check_books() == []
    # re-allocating the grid bill with unchanged master data changes nothing
    grid = Bill.objects.get(bill_no="G-2405")
    r = post(client, f"/api/v1/corrections/bills/{grid.pk}/reallocate", tokens["admin"],
             {"reason": "核对主数据"})
    assert r.status_code == 200 and r.json()["already"] and r.json()["changes"] == []
    # the refund of the grid bill (A-200, paid on import)
    refund = {"reason": "供电局退费", "account_no": "A-200", "refund_no": "RF-9",
              "amount": "18.60", "refund_date": timezone.localdate().isoformat()}
    r = post(client, "/api/v1/corrections/refunds", tokens["admin"], refund)
    assert r.status_code == 200, r.content
    assert sum(float(c["after"]) for c in r.json()["changes"] if c["operator"]) < 0
    assert check_books() == []
