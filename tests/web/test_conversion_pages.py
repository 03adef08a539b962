"""The 转改直 and market-trading pages per role: every page answers 200 to those it is for
(404 to the others), operators see only their own share and never an account or a price,
the candidates' XLSX export, a project's step and attachments (content-checked)."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.integration.test_conversion import converted  # noqa: F401 — fixture
from tests.integration.test_trading import enrolled  # noqa: F401 — fixture
from tests.web.test_pages import login
from towerledger.programs.conversion.models import Attachment, Project
from towerledger.programs.trading.models import Contract

STAFF = ("admin", "viewer", "clerk_zz", "clerk_ly")
OPERATORS = ("cmcc", "ctcc_zz")


@pytest.fixture
def both(converted, enrolled):  # noqa: F811
    return converted, enrolled


def page(client, name, *args, **query):
    r = client.get(reverse(name, args=args), query)
    return r.status_code, r.content.decode() if r.status_code == 200 else ""


def test_pages_per_role(both, users):
    project, contract = both
    for who in (*STAFF, *OPERATORS):
        c = login(users[who])
        staff = who in STAFF
        for name in ("conversion", "conversion_projects", "conversion_settings"):
            assert page(c, name)[0] == (200 if staff else 404), (who, name)
        own_city = who in ("admin", "viewer", "clerk_zz")
        assert page(c, "conversion_project", project.pk)[0] == (200 if own_city else 404), who
        assert page(c, "trading_contract", contract.pk)[0] == (200 if own_city else 404), who
        assert page(c, "conversion_league")[0] == 200
        assert page(c, "trading", **{"from": "2024-05", "to": "2024-06"})[0] == 200
        assert page(c, "programs")[0] == 200


def test_operators_see_only_their_share(both, users):
    _, body = page(login(users["admin"]), "conversion_league")
    assert "23,017.50" in body and "21,000.00" in body          # 11 × 2,092.50; the cost
    _, body = page(login(users["cmcc"]), "conversion_league", **{"from": "2024-01"})
    assert "11,508.75" in body                                   # 11 × 1,046.25
    assert "23,017.50" not in body and "21,000.00" not in body and "A-100" not in body
    _, body = page(login(users["ctcc_zz"]), "conversion_league", **{"from": "2024-01"})
    assert "4,315.74" in body                                    # 11 × 392.34
    query = {"from": "2024-05", "to": "2024-06"}
    _, body = page(login(users["admin"]), "trading", **query)
    assert 'id="trading-total">150.00' in body and "A-200" in body and "TC-2024" in body
    _, body = page(login(users["cmcc"]), "trading", **query)
    assert 'id="trading-total">63.00' in body
    for secret in ("A-200", "TC-2024", "0.62", "0.57", "CTCC", "ZZ003"):
        assert secret not in body, secret
    _, body = page(login(users["ctcc_zz"]), "trading", **query)
    assert 'id="trading-total">42.00' in body and "CMCC" not in body
    _, body = page(login(users["clerk_ly"]), "trading", **query)
    assert 'id="trading-total">0.00' in body


def test_candidates_export_and_scope(both, users):
    _, body = page(login(users["clerk_zz"]), "conversion")
    assert "A-300" not in body                                   # 洛阳's account
    r = login(users["admin"]).get(reverse("conversion"), {"format": "xlsx"})
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.values)
    assert rows[0][1] == "电表户号 account_no"
    assert [row[1] for row in rows[1:]] == ["A-300"]             # A-100 is direct now
    assert rows[1][9] == 30000 and rows[1][11] == -30000


def test_a_step_and_attachments_on_the_project_page(province, users):
    from datetime import date
    from decimal import Decimal

    from towerledger.programs.conversion import services
    from towerledger.sites.models import SupplyAccount

    p = services.submit(users["clerk_ly"], SupplyAccount.objects.get(account_no="A-300"),
                        reason="x", submitted_on=date(2024, 6, 1))
    c = login(users["clerk_ly"])
    url = reverse("conversion_step", args=[p.pk])
    r = c.post(url, {"step": "approve", "on": "2024-06-03", "reason": "批复"})
    assert r.status_code == 302
    assert Project.objects.get(pk=p.pk).status == "APPROVED"
    fake = SimpleUploadedFile("批复.pdf", b"not a pdf at all", content_type="application/pdf")
    c.post(reverse("conversion_attach", args=[p.pk]), {"file": fake})
    assert Attachment.objects.count() == 0
    real = SimpleUploadedFile("批复.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    c.post(reverse("conversion_attach", args=[p.pk]), {"file": real})
    att = Attachment.objects.get()
    r = c.get(reverse("conversion_attachment", args=[att.pk]))
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")
    assert login(users["clerk_zz"]).get(reverse("conversion_attachment",
                                                args=[att.pk])).status_code == 404
    assert login(users["viewer"]).post(url, {"step": "build", "reason": "x"}).status_code == 404
    _, body = page(c, "conversion_project", p.pk)
    assert "批复" in body and Decimal(Project.objects.get(pk=p.pk).estimated_cost) == 30000
    assert Contract.objects.count() == 0
