"""Explanations stored in parts (issue 18): a paid bill's lines keep only their own numbers
(LineTrace v2) and the site's part once (BillSiteTrace); read back, each line's explanation
is exactly what the explained allocation says, tax-factor source included, on the line's
page and in the API."""

import json

import pytest
from django.test import Client

from tests.integration.test_bills import GRID, JUNE, MAY, bill, import_bills
from towerledger.domain import explain
from towerledger.settlement.corrections import allocate_again
from towerledger.settlement.models import BillSiteTrace, Line, LineTrace

pytestmark = pytest.mark.django_db


def test_stored_in_parts_and_read_back_whole(users, tmp_path):
    assert import_bills(tmp_path, [MAY, JUNE, GRID]).stored   # June and the grid bill paid
    for b in (bill("A-100", "B-2406"), bill("A-200", "G-2405")):
        lines = list(Line.objects.filter(bill=b, kind=Line.Kind.ALLOCATION))
        sites = {ln.site_id for ln in lines}
        assert len(lines) >= 3 and len(sites) == (2 if b.bill_no == "G-2405" else 1)
        assert BillSiteTrace.objects.filter(bill=b).count() == len(sites)
        for ln in lines:
            stored = LineTrace.objects.get(line=ln).trace
            assert stored["v"] == explain.VERSION and "text_zh" not in stored
        # what the explained allocation of the same bill says, line by line
        said = {(x.site_code, x.tenancy_id): x.trace for x in allocate_again(b).lines}
        for ln in lines:
            whole = Line.objects.get(pk=ln.pk).trace
            expected = dict(said[(ln.site.site_code, ln.tenancy.tenancy_id if ln.tenancy
                                  else None)])
            if "tax_factor_source" in whole:
                expected["tax_factor_source"] = whole["tax_factor_source"]
                en, zh = explain.tax_source_text(whole["tax_factor_source"])
                expected["text_en"] = f"{expected['text_en']} {en}"
                expected["text_zh"] = f"{expected['text_zh']}{zh}"
            assert whole == expected


def test_the_line_page_and_the_api_show_the_sentences(users, tmp_path):
    assert import_bills(tmp_path, [MAY, JUNE]).stored
    line = Line.objects.filter(bill=bill("A-100", "B-2406"), operator__code="CMCC").get()
    c = Client()
    assert c.login(username="cmcc", password="pw-Secret-123")
    page = c.get(f"/lines/{line.pk}/").content.decode()
    assert "缴费单B-2406" in page and "按最大余额法舍入为" in page and "税负因子" in page
    listed = c.get("/api/v1/lines?status=ALL").json()
    mine = next(r for r in listed["items"] if r["id"] == f"L{line.pk}")
    assert mine["explanation"]["zh"] == line.trace["text_zh"]
    assert mine["explanation"]["en"].startswith("Bill B-2406, 2024-06-01 to 2024-06-30")
    detail = c.get(f"/api/v1/lines/L{line.pk}").json()
    assert detail["trace"]["runs"] and detail["trace"]["rounding"].startswith(
        "largest remainder over")
    json.dumps(detail)
