"""资源数据质量 on the small province with a problem of each kind planted; the scorecard's
counts and rates per province, city and county; the drill-down files re-import; the month
close stores the scorecard; the number of queries does not grow with the sites."""

from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import SITES_HEADER, TENANCIES_HEADER, write_csv
from tests.integration.test_bills import import_bills
from towerledger.exchange.services import run_import
from towerledger.org.models import City, County
from towerledger.programs.quality import exports
from towerledger.programs.quality import services as qs
from towerledger.programs.quality.models import QualityScore
from towerledger.settlement.models import Line
from towerledger.settlement.program_lines import Charge, push_program_lines
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy

D = Decimal
AS_OF = date(2024, 6, 30)


def bill_row(no, start, end, price):
    return [no, "A-100", start, end, "", "", "", "", "1000", price,
            str(D(price) * 1000), "", "GENERAL", "", ""]


@pytest.fixture
def messy(province, tmp_path):
    """One problem (or two) of each kind."""
    # an open CMCC tenancy on ZZ001 beside the first; a tenancy on ZZ003, then archived
    rows = [["T-ZZ001-CMCC-2", "ZZ001", "CMCC", "2024-06-01", "", "RESALE", "", "1", "1", ""],
            ["T-ZZ003-CBN", "ZZ003", "CBN", "2024-01-01", "", "RESALE", "", "1", "1", ""]]
    assert run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER,
                                             rows)).stored
    Site.objects.filter(site_code="ZZ003").update(status="ARCHIVED",
                                                  decommission_date=date(2024, 5, 31))
    # a full-width twin of A-100 feeding no site; A-300's split at 90 %
    SupplyAccount.objects.create(account_no="ａ－１００ ", supply_mode="DIRECT",
                                 supplier_type="GRID", input_invoice_type="SPECIAL_13")
    AccountSite.objects.filter(account__account_no="A-300").update(split_ratio=90)
    # four bills at 1.10, then June at 1.50 (36.4 % off the median 1.10)
    months = [("01", "31"), ("02", "29"), ("03", "31"), ("04", "30"), ("05", "31")]
    assert import_bills(tmp_path, [bill_row(f"Q-{m}", f"2024-{m}-01", f"2024-{m}-{e}",
                                            "1.10") for m, e in months[:4]]
                        + [bill_row("Q-06", "2024-06-01", "2024-06-30", "1.50")]).stored
    # a RENT line on LY001, which has no rent contract
    ly = Site.objects.get(site_code="LY001")
    push_program_lines("RENT", [Charge(site_id=ly.pk, amount=D("500.00"),
                                       period_start=date(2024, 6, 1),
                                       period_end=date(2024, 6, 30),
                                       explanation={"zh": "场租", "en": "rent"})],
                       user=None, reference="test-rent", memo="rent", today=AS_OF)
    assert Line.objects.filter(kind="RENT").exists()
    # a generator line charged to CBN on ZZ003 for June, after its decommission date
    cbn = Tenancy.objects.get(tenancy_id="T-ZZ003-CBN")
    push_program_lines("GENERATOR", [Charge(site_id=cbn.site_id, amount=D("80.00"),
                                            period_start=date(2024, 6, 3),
                                            period_end=date(2024, 6, 3),
                                            explanation={"zh": "发电", "en": "generator"},
                                            tenancy_id=cbn.pk, operator_id=cbn.operator_id,
                                            mode="ON_BEHALF")],
                       user=None, reference="test-gen", memo="generator", today=AS_OF)


def scores(cards, unit):
    return {s.rule: (s.count, s.total, s.rate) for s in cards[unit]}


def test_scorecard_counts_rates_and_units(messy):
    found = qs.find(AS_OF)
    cards = qs.scorecards(found)
    assert scores(cards, ("P", None, None)) == {
        "SITE_NO_COORDS": (2, 3, D("66.67")),       # ZZ002, LY001 (ZZ003 archived)
        "ACCOUNT_NO_SITE": (1, 4, D("25.00")),      # the twin
        "SPLIT_NOT_100": (1, 4, D("25.00")),        # A-300 at 90
        "TENANCY_OVERLAP": (2, 9, D("22.22")),      # the two CMCC tenancies on ZZ001
        "ACTIVE_ON_ARCHIVED": (1, 9, D("11.11")),   # T-ZZ003-CBN
        "SILENT_ACCOUNT": (2, 4, D("50.00")),       # A-200 (no bill), A-300 (none, cycle 3)
        "DUP_ACCOUNT_NO": (2, 4, D("50.00")),       # A-100 and ａ－１００
        "PRICE_DEVIATION": (1, 1, D("100.00")),
        "RENT_NO_CONTRACT": (1, 1, D("100.00")),    # LY001
        "LINE_ON_ARCHIVED": (1, 1, D("100.00")),    # the generator line on ZZ003
    }
    zz = City.objects.get(name="郑州市").pk
    ly = City.objects.get(name="洛阳市").pk
    jinshui = County.objects.get(name="金水区").pk
    zz_scores = scores(cards, ("C", zz, None))
    assert zz_scores["SITE_NO_COORDS"] == (1, 2, D("50.00"))
    assert zz_scores["DUP_ACCOUNT_NO"] == (1, 2, D("50.00"))    # the twin has no city
    assert zz_scores["ACCOUNT_NO_SITE"] == (0, 2, D("0.00"))
    assert scores(cards, ("K", zz, jinshui)) == zz_scores
    assert scores(cards, ("C", ly, None))["SPLIT_NOT_100"] == (1, 1, D("100.00"))
    # one city's own computation says the same as the province's row for it
    assert scores(qs.scorecards(qs.find(AS_OF, city_id=zz), zz), ("C", zz, None)) == zz_scores
    assert qs.keys_in(found, "TENANCY_OVERLAP", zz, jinshui) == sorted(
        found.problems["TENANCY_OVERLAP"])


def test_drill_down_file_reimports_and_clears_the_rule(messy, tmp_path):
    zz = City.objects.get(name="郑州市").pk
    found = qs.find(AS_OF, city_id=zz)
    keys = qs.keys_in(found, "SITE_NO_COORDS", zz)
    kind, headers, rows = exports.table("SITE_NO_COORDS", keys)
    rows = [list(r) for r in rows]
    assert kind == "sites" and headers[:2] == ["site_code", "site_name"]
    assert [r[0] for r in rows] == ["ZZ002"]
    rows[0][-2:] = ["113.70", "34.80"]                  # the city fills the coordinates in
    path = write_csv(tmp_path / "fixed.csv", headers, rows)
    assert run_import("sites", path).stored
    assert not qs.find(AS_OF, city_id=zz).problems.get("SITE_NO_COORDS")
    # accounts: every split of the account, re-importable as it is
    kind, headers, rows = exports.table("SPLIT_NOT_100", qs.keys_in(qs.find(AS_OF),
                                                                     "SPLIT_NOT_100"))
    rows = [list(r) for r in rows]
    assert kind == "accounts" and [r[0] for r in rows] == ["A-300"]
    rows[0][headers.index("split_ratio")] = "100"
    assert run_import("accounts", write_csv(tmp_path / "acc.csv", headers, rows)).stored
    assert not qs.find(AS_OF).problems.get("SPLIT_NOT_100")
    assert SITES_HEADER  # the sites file above used the canonical English names


def test_month_close_receiver_stores_the_scorecard_idempotently(messy):
    first = qs.close_snapshot(month=date(2024, 6, 1))
    again = qs.close_snapshot(month=date(2024, 6, 1))
    assert first == again == {"rows": 10 * 5, "problems": 14}  # P + 2 cities + 2 counties
    row = QualityScore.objects.get(month=date(2024, 6, 1), level="P", rule="PRICE_DEVIATION")
    assert (row.count, row.total) == (1, 1)


def test_queries_do_not_grow_with_the_sites(messy, tmp_path):
    with CaptureQueriesContext(connection) as few:
        qs.scorecards(qs.find(AS_OF))
    more = [[f"ZZ9{i:02d}", f"站{i}", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""]
            for i in range(40)]
    assert run_import("sites", write_csv(tmp_path / "more.csv", SITES_HEADER, more)).stored
    with CaptureQueriesContext(connection) as many:
        cards = qs.scorecards(qs.find(AS_OF))
    assert len(many) == len(few) <= 20
    assert scores(cards, ("P", None, None))["SITE_NO_COORDS"] == (42, 43, D("97.67"))


def test_xlsx_of_a_drill_down_is_safe_and_canonical(messy, client, users):
    client.force_login(users["clerk_zz"])
    page = client.get("/programs/quality/")
    assert page.status_code == 200
    assert "金水区" in page.content.decode() and "洛阳市" not in page.content.decode()
    listing = client.get("/programs/quality/rules/TENANCY_OVERLAP/")
    assert "T-ZZ001-CMCC-2" in listing.content.decode()
    xlsx = client.get("/programs/quality/rules/TENANCY_OVERLAP/?format=xlsx")
    book = openpyxl.load_workbook(__import__("io").BytesIO(b"".join(xlsx.streaming_content)))
    rows = list(book.active.values)
    assert rows[0][:3] == ("tenancy_id", "site_code", "operator")
    assert sorted(r[0] for r in rows[1:]) == ["T-ZZ001-CMCC", "T-ZZ001-CMCC-2"]
    line = Line.objects.get(kind="GENERATOR")
    assert f"L{line.pk}" in client.get("/programs/quality/rules/LINE_ON_ARCHIVED/").content.decode()
    client.force_login(users["cmcc"])
    assert client.get("/programs/quality/").status_code == 404


def test_api_scorecard_live_and_stored_in_scope(messy, client, users):
    from towerledger.api.tokens import create_token

    def get(user, url):
        token = create_token(users[user], f"{user} system")[1]
        return client.get(url, headers={"Authorization": f"Bearer {token}"})

    qs.close_snapshot(month=date(2024, 6, 1))
    stored = get("admin", "/api/v1/quality/scorecard?month=2024-06&level=P").json()
    by = {i["rule"]: (i["count"], i["total"], i["rate"]) for i in stored["items"]}
    assert by["SITE_NO_COORDS"] == (2, 3, "66.67") and stored["live"] is False
    mine = get("clerk_zz", "/api/v1/quality/scorecard?month=2024-06").json()["items"]
    assert {i["city"] for i in mine} == {"郑州市"}
    live = get("clerk_zz", "/api/v1/quality/scorecard").json()
    assert live["live"] and {i["city"] for i in live["items"]} == {"郑州市"}
    assert get("cmcc", "/api/v1/quality/scorecard").status_code == 403
