"""Exports: an operator's file carries only its own data, every file is formula-safe, and
downloading never leaves files behind.

On the collection API tests' province (lines of every operator in two cities, deemed
confirmed, this month's statements, receipts, a dispute), plus a small site LY009 in 洛阳
hosted by LY001 with a CMCC tenancy: CMCC may see LY009 but not its host (it has no tenancy
on LY001), so the host's code must not reach CMCC's files. Every export a role may download
(``/exports/<kind>/`` in CSV and XLSX, the lines and ageing downloads, the reports' XLSX,
a statement's XLSX) is read back cell by cell.
"""

import csv
import io
import os
import time
from datetime import date

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from tests.api.test_statements import make_receipts, make_statements
from towerledger.access.scope import scoped
from towerledger.api.tokens import create_token
from towerledger.collection.models import Statement
from towerledger.exchange.export import exports_dir, purge_exports
from towerledger.exchange.registry import KINDS
from towerledger.org.models import County, Operator
from towerledger.settlement import services as settlement
from towerledger.settlement.models import Line
from towerledger.sites.models import Site, SupplyAccount, Tenancy
from towerledger.web.imports import STAFF_ONLY

OPERATORS = ("cmcc", "ctcc_zz")
FORMULAS = ("=1+1", "+SUM(A1)", "-2+3", "@cmd", '=HYPERLINK("http://evil.example","x")')


@pytest.fixture
def data(users, tmp_path):
    """The API tests' data on the shared province, and LY009; the users."""
    statements = make_statements(users, tmp_path)
    make_receipts(tmp_path, statements)
    ly001 = Site.objects.get(site_code="LY001")
    small = Site.objects.create(site_code="LY009", site_name="西工微站", site_type="SMALL",
                                county=ly001.county, host_site=ly001)
    Tenancy.objects.create(tenancy_id="T-LY009-CMCC", site=small, start_date=date(2024, 1, 1),
                           operator=Operator.objects.get(code="CMCC"),
                           settlement_mode="RESALE")
    pushed = Line.objects.filter(operator__code="CMCC", status=Line.Status.PUSHED).first()
    if pushed:
        settlement.dispute_line(pushed.pk, users["cmcc"], "OTHER", "=1+1 formula comment")
    return users


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def cells(response) -> list[list[str]]:
    """Every cell of a CSV or XLSX download, as text."""
    data = b"".join(response.streaming_content) if response.streaming else response.content
    if data[:2] == b"PK":
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return [["" if v is None else str(v) for v in row]
                for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def downloads(user) -> dict[str, str]:
    """What the user may download: label → URL."""
    out = {}
    for name, kind in KINDS.items():
        if kind.export_rows is None or name in STAFF_ONLY:
            continue
        for fmt in ("csv", "xlsx"):
            out[f"{name}.{fmt}"] = reverse("export", args=[name]) + f"?format={fmt}"
    out["lines page"] = reverse("lines_export") + "?tab=history"
    out["ageing by site"] = reverse("ageing_export") + "?by=site"
    out["ageing by operator"] = reverse("ageing_export")
    for kind in ("kpi", "my_sites"):
        out[f"report {kind}"] = reverse("report", args=[kind]) + "?format=xlsx"
    for st in Statement.objects.filter(operator=user.profile.operator):
        out[f"statement {st.number}"] = reverse("statement_xlsx", args=[st.pk])
    return out


def foreign(user) -> set[str]:
    """Words that must not appear in the user's files: every supply account number, the
    codes of sites outside their scope, other operators' codes and tenancies, other
    cities."""
    own_sites = set(scoped(user, Site.objects.all()).values_list("site_code", flat=True))
    words = set(SupplyAccount.objects.values_list("account_no", flat=True))
    words |= set(Site.objects.exclude(site_code__in=own_sites).values_list("site_code",
                                                                           flat=True))
    mine = user.profile.operator
    words |= set(Operator.objects.exclude(pk=mine.pk).values_list("code", flat=True))
    words |= set(Tenancy.objects.exclude(operator=mine).values_list("tenancy_id", flat=True))
    if user.profile.city_id:
        words |= {c.city.name for c in County.objects.exclude(city=user.profile.city_id)}
    return words - {"OTHER"}      # also a dispute reason code; OTHER the operator owns none


@pytest.mark.parametrize("role", OPERATORS)
def test_an_operators_exports_carry_only_its_own_data(data, role):
    user = data[role]
    client, leaks = client_for(user), []
    words = foreign(user)
    assert "LY001" in words and "A-100" in words
    checked = 0
    for label, url in downloads(user).items():
        response = client.get(url)
        if response.status_code == 404:        # a report the role does not have
            continue
        assert response.status_code == 200, (label, response.status_code)
        checked += 1
        for row in cells(response):
            for value in row:
                leaks += [f"{label}: {value!r} holds {w!r}" for w in words if w in value]
    assert checked >= 20
    assert not leaks, "\n".join(sorted(set(leaks))[:40])


def test_staff_still_get_the_whole_allocation(data):
    rows = cells(client_for(data["admin"]).get(
        reverse("export", args=["allocations"]) + "?format=csv"))
    assert rows[0][:3] == ["bill_no", "account_no", "site_code"]
    assert {"A-100", "A-300"} <= {r[1] for r in rows[1:]}


def test_every_export_is_formula_safe(data):
    """Text a user typed that a spreadsheet would run (= + - @) comes back quoted, in every
    file of every kind, CSV and XLSX, and in the reports' XLSX."""
    for i, formula in enumerate(FORMULAS):
        Site.objects.filter(site_code=f"ZZ00{i % 3 + 1}").update(site_name=formula)
    County.objects.filter(name="金水区").update(name=FORMULAS[0])
    admin, bad = client_for(data["admin"]), []
    urls = {f"{name}.{fmt}": reverse("export", args=[name]) + f"?format={fmt}"
            for name, kind in KINDS.items() if kind.export_rows is not None
            for fmt in ("csv", "xlsx")}
    urls |= {f"report {k}": reverse("report", args=[k]) + "?format=xlsx"
             for k in ("kpi", "sites", "tower", "prices")}
    urls |= {"ageing by county": reverse("ageing_export") + "?by=county",
             "lines": reverse("lines_export") + "?tab=history"}
    seen = 0
    for label, url in urls.items():
        response = admin.get(url)
        assert response.status_code == 200, (label, response.status_code)
        for row in cells(response):
            for value in row:
                seen += value.lstrip("'") in FORMULAS
                if value.startswith(("=", "+", "@")) or (
                        value.startswith("-") and not value[1:].replace(".", "").isdigit()):
                    bad.append(f"{label}: {value!r}")
    assert seen >= 10     # the payloads did reach the files (quoted)
    assert not bad, bad[:20]


def test_repeated_downloads_leave_no_files_behind(data, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    exports = exports_dir()
    (exports / "kept").mkdir()
    (exports / "kept" / "reconcile-today.xlsx").write_bytes(b"PK")   # within retention

    def files():
        return sorted(p for p in exports.rglob("*") if p.is_file()) if exports.exists() else []

    before = files()
    operator, admin = client_for(data["cmcc"]), client_for(data["admin"])
    for _ in range(3):
        for client, url in ((admin, reverse("export", args=["sites"]) + "?format=xlsx"),
                            (admin, reverse("export", args=["bills"]) + "?format=csv"),
                            (operator, reverse("lines_export")),
                            (operator, reverse("ageing_export")),
                            (admin, reverse("report", args=["kpi"]) + "?format=xlsx")):
            response = client.get(url)
            assert response.status_code == 200
            assert cells(response)[0]            # the file was whole when sent
    # (a download is an unnamed temporary file: the folder shows nothing even before the
    # response is closed, which frees its space)
    assert files() == before


def test_files_kept_for_later_are_purged_after_the_retention(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.TOWERLEDGER_EXPORT_RETENTION_HOURS = 24
    folder = exports_dir()
    old, new = folder / "a1" / "reconcile-old.xlsx", folder / "b2" / "reconcile-new.xlsx"
    for path in (old, new):
        path.parent.mkdir()
        path.write_bytes(b"PK")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    assert purge_exports(force=True) == 1
    assert not old.exists() and not old.parent.exists() and new.exists()
    assert purge_exports() == 0          # at most once an hour


def test_the_api_and_the_site_page_name_a_host_only_within_scope(data):
    cmcc = data["cmcc"]
    token = create_token(cmcc, "cmcc system")[1]
    api = Client().get("/api/v1/sites/LY009", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.json()["host_site_code"] is None
    listed = Client().get("/api/v1/sites", {"q": "LY"},
                          headers={"Authorization": f"Bearer {token}"}).json()["items"]
    assert [(s["site_code"], s["host_site_code"]) for s in listed] == [("LY009", None)]
    page = client_for(cmcc).get(reverse("site", args=["LY009"])).content.decode()
    assert "LY009" in page and "LY001" not in page
    admin_page = client_for(data["admin"]).get(reverse("site", args=["LY009"]))
    assert "LY001" in admin_page.content.decode()
