"""电子化对账: the operator's own ledger against ours, through Django's test client on the
small province with May's lines confirmed. The first upload asks the columns, the answer is
remembered per operator; the four categories and their totals; another operator's line id is
"only theirs" and nothing of it shows; GBK CSV with Chinese headers; a bad amount is refused
with its row and column and nothing stored; the XLSX download is formula-safe."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from tests.helpers import write_csv
from tests.integration.test_collection import confirmed  # noqa: F401  (fixture)
from tests.web.test_pages import login
from towerledger.collection.models import ColumnMapping
from towerledger.settlement.models import Line

D = Decimal
HEADER = ["我方单号", "站址", "应付电费", "账期"]
MAPPING = {"col_line": "我方单号", "col_amount": "应付电费", "col_month": "账期"}


@pytest.fixture
def lines(confirmed, settings, tmp_path):  # noqa: F811
    """May's confirmed lines, and a third CMCC line (a copy of one as an adjustment), so
    CMCC's ledger can have a line in every category."""
    settings.DATA_DIR = tmp_path / "data"
    extra = Line.objects.filter(operator__code="CMCC", status="CONFIRMED").first()
    extra.pk, extra.kind, extra.receivable = None, "ADJUSTMENT", D("12.34")
    extra.save()
    return confirmed


def ours(code):
    return list(Line.objects.filter(operator__code=code).exclude(
        status__in=["TOWER", "SUPERSEDED"]).order_by("pk"))


def ledger(tmp_path, rows, name="ledger.csv", header=HEADER, encoding="utf-8"):
    return write_csv(tmp_path / name, header, rows, encoding=encoding)


def upload(client, path, **data):
    with open(path, "rb") as f:
        return client.post(reverse("reconcile"), {"file": f, **data})


def cmcc_rows(mine):
    month = f"{mine[0].month:%Y-%m}"
    return [[f"L{mine[0].pk}", "ZZ001", str(mine[0].receivable), month],
            [str(mine[1].pk), "ZZ002", str(mine[1].receivable + D("1.00")), month],
            ["L999999", "ZZ009", "5.00", month]]


def test_first_upload_asks_the_columns_then_they_are_remembered(lines, users, tmp_path):
    mine = ours("CMCC")
    path = ledger(tmp_path, cmcc_rows(mine))
    c = login(users["cmcc"])
    first = upload(c, path)
    assert first.status_code == 200 and first.context["asking"]
    body = first.content.decode()
    for h in HEADER:
        assert f'<option value="{h}"' in body
    assert not first.context.get("compared") and ColumnMapping.objects.count() == 0
    compared = upload(c, path, **MAPPING)
    assert compared.status_code == 200 and compared.context["compared"]
    saved = ColumnMapping.objects.get(operator__code="CMCC").mapping
    assert saved == {"line_id": "我方单号", "amount": "应付电费", "month": "账期"}
    # next time: straight to the comparison, the saved columns shown on the page
    again = upload(c, path)
    assert again.context["compared"] and not again.context.get("asking")
    assert "应付电费" in c.get(reverse("reconcile")).content.decode()
    # asked to choose again: the saved columns are pre-selected
    remap = upload(c, path, remap="1")
    assert remap.context["asking"]
    assert {f["field"]: f["value"] for f in remap.context["mapping_fields"]} == saved
    # a file without the saved columns asks again
    other = ledger(tmp_path, [[f"L{mine[0].pk}", "1"]], name="other.csv",
                   header=["编号", "钱"])
    assert upload(c, other).context["asking"]
    # the htmx helper fills the columns in for the chosen file
    with open(path, "rb") as f:
        part = c.post(reverse("reconcile_columns"), {"file": f})
    assert part.context["remembered"] and 'selected>应付电费' in part.content.decode()


def test_four_categories_with_counts_and_totals(lines, users, tmp_path):
    mine = ours("CMCC")
    assert len(mine) >= 3
    c = login(users["cmcc"])
    r = upload(c, ledger(tmp_path, cmcc_rows(mine)), **MAPPING)
    summary = {s["key"]: s for s in r.context["summary"]}
    rest = sum((ln.receivable for ln in mine[2:]), D("0"))
    assert (summary["matched"]["count"], summary["matched"]["ours"]) == (1, mine[0].receivable)
    assert (summary["differs"]["count"], summary["differs"]["ours"],
            summary["differs"]["theirs"], summary["differs"]["diff"]) == (
        1, mine[1].receivable, mine[1].receivable + 1, D("1.00"))
    assert (summary["only_ours"]["count"], summary["only_ours"]["ours"]) == (
        len(mine) - 2, rest)
    assert (summary["only_theirs"]["count"], summary["only_theirs"]["theirs"]) == (1, D("5.00"))
    total = summary["total"]
    assert total["ours"] == sum((ln.receivable for ln in mine), D("0"))
    assert total["theirs"] == mine[0].receivable + mine[1].receivable + D("6.00")
    assert total["diff"] == total["theirs"] - total["ours"]
    sections = {s["key"]: s for s in r.context["sections"]}
    assert [x["id"] for x in sections["matched"]["rows"]] == [f"L{mine[0].pk}"]
    assert [x["id"] for x in sections["differs"]["rows"]] == [f"L{mine[1].pk}"]
    assert {x["id"] for x in sections["only_ours"]["rows"]} == {f"L{ln.pk}" for ln in mine[2:]}
    body = r.content.decode()
    for ln in mine:   # every one of our rows links to its line page
        assert f'href="{reverse("line", args=[ln.pk])}"' in body
    assert sections["only_theirs"]["rows"][0]["url"] is None
    # a month filter: none of the lines is of another month
    other = upload(c, ledger(tmp_path, cmcc_rows(mine), name="m.csv"), month="2000-01")
    assert {s["key"]: s["count"] for s in other.context["summary"]}["only_ours"] == 0


def test_another_operators_line_is_only_theirs_and_never_shown(lines, users, tmp_path):
    ctcc = ours("CTCC")[0]
    cmcc = ours("CMCC")
    rows = [[f"L{ctcc.pk}", "ZZ001", "1.23", "2024-05"]]
    line_url = reverse("line", args=[ctcc.pk])
    for who in ("cmcc", "clerk_zz", "admin"):
        c = login(users[who])
        data = {**MAPPING, **({} if who == "cmcc" else {"operator": "CMCC"})}
        r = upload(c, ledger(tmp_path, rows, name=f"{who}.csv"), **data)
        assert r.status_code == 200, (who, r.content.decode()[:500])
        sections = {s["key"]: s for s in r.context["sections"]}
        assert [x["id"] for x in sections["only_theirs"]["rows"]] == [f"L{ctcc.pk}"]
        assert not sections["matched"]["rows"] and not sections["differs"]["rows"]
        # staff acting for CMCC see exactly CMCC's lines as "only ours"
        assert {x["id"] for x in sections["only_ours"]["rows"]} == {f"L{ln.pk}" for ln in cmcc}
        body = r.content.decode().split("<main")[1]
        assert line_url not in body and f"{ctcc.receivable:,.2f}" not in body
    # a clerk of another city acting for CMCC: none of Zhengzhou's lines
    r = upload(login(users["clerk_ly"]), ledger(tmp_path, rows, name="ly.csv"),
               operator="CMCC", **MAPPING)
    assert {s["key"]: s["count"] for s in r.context["summary"]}["only_ours"] == 0
    # staff must choose the operator
    assert upload(login(users["admin"]), ledger(tmp_path, rows, name="x.csv"),
                  **MAPPING).status_code == 400


def test_gbk_csv_with_chinese_headers(lines, users, tmp_path):
    mine = ours("CMCC")
    path = ledger(tmp_path, [[f"L{ln.pk}", f"{ln.receivable:,.2f}元", "2024年5月"]
                             for ln in mine], name="gbk.csv",
                  header=["明细编号", "金额", "月份"], encoding="gbk")
    c = login(users["cmcc"])
    asked = upload(c, path)
    assert asked.context["asking"]
    # the usual Chinese names are guessed
    assert {f["field"]: f["value"] for f in asked.context["mapping_fields"]} == {
        "line_id": "明细编号", "amount": "金额", "month": "月份"}
    r = upload(c, path, col_line="明细编号", col_amount="金额", col_month="")
    summary = {s["key"]: s for s in r.context["summary"]}
    assert summary["matched"]["count"] == len(mine) and summary["total"]["diff"] == 0


def test_bad_amount_names_row_and_column_and_nothing_is_stored(lines, users, tmp_path):
    mine = ours("CMCC")
    rows = cmcc_rows(mine)
    rows[1][2] = "十二元"
    rows[2][3] = "someday"
    rows.append(["", "ZZ001", "3.00", "2024-05"])
    rows.append([f"L{mine[0].pk}", "ZZ001", "1.00", "2024-05"])
    c = login(users["cmcc"])
    r = upload(c, ledger(tmp_path, rows), **MAPPING)
    assert r.status_code == 400 and not r.context.get("compared")
    errors = {(e["row"], e["column"]): e for e in r.context["errors"]}
    assert set(errors) == {(3, "应付电费"), (4, "账期"), (5, "我方单号"), (6, "我方单号")}
    assert "十二元" in errors[(3, "应付电费")]["zh"] and "not a number" in \
        errors[(3, "应付电费")]["en"]
    assert "twice" in errors[(6, "我方单号")]["en"]
    body = r.content.decode()
    assert "十二元" in body and "not a number" in body
    assert ColumnMapping.objects.count() == 0
    assert c.get(reverse("reconcile_download")).status_code == 404
    # an unreadable or wrongly typed file
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    assert upload(c, bad, **MAPPING).status_code == 400
    txt = tmp_path / "ledger.txt"
    txt.write_text("a,b\n")
    assert upload(c, txt, **MAPPING).status_code == 400


def test_xlsx_download_is_formula_safe_and_complete(lines, users, tmp_path):
    mine = ours("CMCC")
    rows = cmcc_rows(mine) + [['=HYPERLINK("http://evil","x")', "ZZ001", "2.00", "2024-05"]]
    c = login(users["cmcc"])
    r = upload(c, ledger(tmp_path, rows), **MAPPING)
    assert r.context["compared"]
    got = c.get(reverse("reconcile_download"))
    assert got.status_code == 200
    data = b"".join(got.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:3] == ("category", "类别", "line_id")
    cats = [row[0] for row in table[1:]]
    assert cats.count("MATCHED") == 1 and cats.count("DIFFERS") == 1
    assert cats.count("ONLY_OURS") == len(mine) - 2 and cats.count("ONLY_THEIRS") == 2
    ids = [row[2] for row in table[1:]]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in ids
    assert not any(isinstance(v, str) and v.startswith("=") for row in table for v in row)
    differs = next(row for row in table if row[0] == "DIFFERS")
    assert D(str(differs[5])) == D("1.00")
    # the download belongs to the session that made it
    assert login(users["admin"]).get(reverse("reconcile_download")).status_code == 404


def test_the_page_is_for_operators_and_clerks(lines, users):
    for who in ("cmcc", "clerk_zz", "admin"):
        c = login(users[who])
        r = c.get(reverse("reconcile"))
        assert r.status_code == 200
        nav = r.content.decode().split("<main")[0]
        assert "电子化对账" in nav
        assert ('name="operator"' in r.content.decode()) == (who != "cmcc")
    viewer = login(users["viewer"])
    assert viewer.get(reverse("reconcile")).status_code == 404
    assert "电子化对账" not in viewer.get(reverse("home")).content.decode().split("<main")[0]
