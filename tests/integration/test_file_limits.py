"""Issue 17: a 2 KB file that kills the server. Real files, made here with zipfile (the sheet
XML written by hand) and openpyxl, each tiny on disk: a far cell at XFD1048576 (calamine
aborted the process on it), a dimension tag that lies, cells without references counted to a
far column, zip bombs (honest and lying about their size), a CSV field of 200,000 characters
(the csv module's own limit crashed the reader), too many columns and rows, wrong content —
each refused through run_import with a bilingual message naming the file and the reason,
nothing written; a normal file still imports."""

import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from tests.helpers import SITES_HEADER, write_csv
from towerledger.exchange.services import run_import
from towerledger.importers.limits import Limits, UnreadableFile, column_letters
from towerledger.importers.reader import read_table
from towerledger.importers.workbook import SheetScan, check_workbook
from towerledger.sites.models import Site

NEW_SITE = ["NEW1", "新站", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
        f'{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
        f'{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}
SHEET = "xl/worksheets/sheet1.xml"


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row() -> str:
    cols = "ABCDEFGHIJK"
    return '<row r="1">' + "".join(inline(f"{c}1", h) for c, h in zip(cols, SITES_HEADER, strict=True)) \
        + "</row>"


def sheet_xml(rows: str, dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{dim}'
            f"<sheetData>{rows}</sheetData></worksheet>")


def workbook(path: Path, sheet: str | None = None, *, filler=None) -> Path:
    """An XLSX written part by part; ``filler`` streams extra bytes into the sheet (a bomb)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
        if filler is None:
            z.writestr(SHEET, sheet)
        else:
            with z.open(SHEET, "w") as f:
                f.write(f'<worksheet xmlns="{MAIN}"><sheetData>{header_row()}'.encode())
                filler(f)
                f.write(b"</sheetData></worksheet>")
    return path


def far_cell_xlsx(path: Path, dimension: str | None = "A1:XFD1048576") -> Path:
    """The 2 KB file of the issue: a header and one cell at XFD1048576."""
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return workbook(path, sheet_xml(header_row() + far, dimension))


def zip_bomb_xlsx(path: Path, expands_to: int) -> Path:
    """A sheet of ``expands_to`` bytes of one repeated row, compressed ~1000:1."""
    row = ('<row><c t="inlineStr"><is><t>' + "x" * 200 + "</t></is></c></row>").encode()
    block = row * ((1 << 20) // len(row))

    def fill(f):
        for _ in range(expands_to // len(block) + 1):
            f.write(block)
    return workbook(path, filler=fill)


def lie_about_size(path: Path, member: str, size: int) -> Path:
    """Rewrite the declared uncompressed size of ``member`` (central directory and local
    header), as a crafted bomb does; the compressed data is left as it is."""
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")                      # end of central directory
    count, _size, at = struct.unpack_from("<HII", data, end + 10)
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        local = struct.unpack_from("<I", data, at + 42)[0]
        if data[at + 46:at + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, at + 24, size)       # central directory
            struct.pack_into("<I", data, local + 22, size)    # local header
        at += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path


def refused(result, *fragments):
    assert not result.stored and len(result.errors) == 1, [e.en for e in result.errors]
    e = result.errors[0]
    text = f"{e.zh} / {e.en}"
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


@pytest.fixture
def sites_before(users):
    return set(Site.objects.values_list("site_code", flat=True))


def nothing_written(before):
    assert set(Site.objects.values_list("site_code", flat=True)) == before


def test_the_far_cell_file_is_refused_by_its_dimension(users, sites_before, tmp_path):
    path = far_cell_xlsx(tmp_path / "far.xlsx")
    assert path.stat().st_size < 2500
    text = refused(run_import("sites", path, users["admin"]), "far.xlsx", "A1:XFD1048576",
                   "文件声明的工作表范围", "the sheet declares A1:XFD1048576", "200 列")
    assert "超出上限" in text and "beyond the limit" in text
    nothing_written(sites_before)


def test_a_dimension_that_lies_does_not_hide_the_far_cell(users, sites_before, tmp_path):
    for dimension in ("A1:K2", None):       # a small tag, and no tag at all
        path = far_cell_xlsx(tmp_path / f"liar-{dimension}.xlsx", dimension)
        refused(run_import("sites", path, users["admin"]),
                "单元格 XFD1048576", "a cell at XFD1048576")
    nothing_written(sites_before)


def test_cells_without_references_are_counted_as_calamine_counts(users, sites_before,
                                                                 tmp_path):
    # no r= anywhere: the 201st cell of a row is in column GS, past the 200 allowed
    wide = "<row>" + "<c><v>1</v></c>" * 201 + "</row>"
    path = workbook(tmp_path / "wide.xlsx", sheet_xml(header_row() + wide))
    refused(run_import("sites", path, users["admin"]), "GS2", "wide.xlsx")
    # empty rows advance the count: the cell lands on row 1,048,578 …
    tall = '<row r="1048576"/><row/><row><c><v>1</v></c></row>'
    path = workbook(tmp_path / "tall.xlsx", sheet_xml(header_row() + tall))
    # … past the 10,000,000-cell area: A1:K1048578
    refused(run_import("sites", path, users["admin"]), "K1048578", "tall.xlsx")
    nothing_written(sites_before)


def test_zip_bombs_are_refused_before_they_expand(users, sites_before, tmp_path):
    honest = zip_bomb_xlsx(tmp_path / "bomb.xlsx", 210 * 2**20)
    assert honest.stat().st_size < 1_000_000       # 210 MB of sheet in a small file
    refused(run_import("sites", honest, users["admin"]), "bomb.xlsx", "超出上限 200 MB",
            "beyond the limit of 200 MB", "zip bomb")
    # the same bomb declaring a small size: the bytes really inflated are counted
    liar = zip_bomb_xlsx(tmp_path / "liar.xlsx", 210 * 2**20)
    lie_about_size(liar, SHEET, 4096)
    with zipfile.ZipFile(liar) as z:
        assert z.getinfo(SHEET).file_size == 4096
    refused(run_import("sites", liar, users["admin"]), "liar.xlsx", "zip bomb")
    nothing_written(sites_before)


def test_a_compression_ratio_no_spreadsheet_has_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_UNZIPPED_BYTES = 500 * 2**20     # under the size limit; the ratio
    path = zip_bomb_xlsx(tmp_path / "dense.xlsx", 20 * 2**20)
    with pytest.raises(UnreadableFile) as caught:
        check_workbook(path, "dense.xlsx", Limits.from_settings())
    assert "100:1" in str(caught.value) and "dense.xlsx" in str(caught.value)


def test_zip_entry_count_and_sheet_area_limits(tmp_path, settings):
    path = far_cell_xlsx(tmp_path / "small.xlsx", dimension=None)
    settings.IMPORT_MAX_ZIP_ENTRIES = 3
    with pytest.raises(UnreadableFile, match="5 个文件"):
        read_table(path)
    settings.IMPORT_MAX_ZIP_ENTRIES = 10_000
    rows = header_row() + '<row r="60000"><c r="K60000"><v>1</v></c></row>'
    path = workbook(tmp_path / "area.xlsx", sheet_xml(rows))
    settings.IMPORT_MAX_SHEET_CELLS = 500_000          # K60000 spans 660,000 cells
    with pytest.raises(UnreadableFile, match="A1:K60000"):
        read_table(path)
    settings.IMPORT_MAX_SHEET_CELLS = 10_000_000
    assert len(read_table(path).rows) == 59_999


def test_a_csv_field_of_200000_characters_is_a_clear_refusal(users, sites_before, tmp_path):
    for length in (200_000, 50_000):     # past the csv module's 131,072, and below it
        path = write_csv(tmp_path / f"long{length}.csv", SITES_HEADER,
                         [NEW_SITE, [*NEW_SITE[:1], "长" * length, *NEW_SITE[2:]]])
        text = refused(run_import("sites", path, users["admin"]), f"long{length}.csv",
                       "第 3 行", "row 3", "10,000")
        assert "field larger than field limit" not in text
    nothing_written(sites_before)


def test_too_many_columns_and_rows_are_refused(users, sites_before, tmp_path, settings):
    path = write_csv(tmp_path / "wide.csv", SITES_HEADER + [f"x{i}" for i in range(200)],
                     [NEW_SITE + [""] * 200])
    refused(run_import("sites", path, users["admin"]), "wide.csv", "211 列", "211 columns")
    settings.IMPORT_MAX_ROWS = 2
    path = write_csv(tmp_path / "long.csv", SITES_HEADER, [NEW_SITE] * 3)
    refused(run_import("sites", path, users["admin"]), "long.csv", "2 行数据的上限")
    nothing_written(sites_before)


def test_wrong_extension_or_content_is_refused(users, sites_before, tmp_path):
    csv_named_xlsx = tmp_path / "sites.xlsx"
    csv_named_xlsx.write_text("站址编码\nNEW1\n", encoding="utf-8")
    refused(run_import("sites", csv_named_xlsx, users["admin"]), "不是 Excel 文件")
    xlsx_named_csv = far_cell_xlsx(tmp_path / "zip.csv")
    refused(run_import("sites", xlsx_named_csv, users["admin"]), "二进制")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    refused(run_import("sites", old, users["admin"]), ".xls", "save it as .xlsx")
    not_a_workbook = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(not_a_workbook, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    refused(run_import("sites", not_a_workbook, users["admin"]), "xl/workbook.xml")
    nothing_written(sites_before)


def test_normal_files_still_import(users, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(SITES_HEADER)
    book.active.append(NEW_SITE)
    book.save(tmp_path / "sites.xlsx")
    result = run_import("sites", tmp_path / "sites.xlsx", users["admin"])
    assert result.stored, [e.en for e in result.errors]
    # cells without references, counted tag by tag, within the limits
    cells = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' if v else "<c/>"
                    for v in ["NEW2", *NEW_SITE[1:]])
    path = workbook(tmp_path / "norefs.xlsx", sheet_xml(header_row() + f"<row>{cells}</row>"))
    assert run_import("sites", path, users["admin"]).stored
    gbk = write_csv(tmp_path / "gbk.csv", SITES_HEADER, [["NEW3", *NEW_SITE[1:]]],
                    encoding="gb18030")
    assert run_import("sites", gbk, users["admin"]).stored
    assert Site.objects.filter(site_code__in=["NEW1", "NEW2", "NEW3"]).count() == 3


sheets = st.lists(st.tuples(
    st.one_of(st.none(), st.integers(1, 40)),                       # <row r=…> or none
    st.booleans(),                                                   # <row/> (no cells)
    st.lists(st.tuples(st.one_of(st.none(), st.tuples(st.integers(0, 30), st.integers(1, 40))),
                       st.booleans(), st.booleans()), max_size=5)),  # ref, empty, prefixed
    min_size=1, max_size=6)


@hypothesis_settings(max_examples=150, deadline=None)
@given(sheets)
def test_the_scan_reaches_at_least_as_far_as_calamine(tmp_path_factory, rows):
    """Whatever mix of referenced and unreferenced cells, empty rows and cells and prefixed
    tags: the extent the scan measures is never smaller than the grid calamine builds."""
    xml = []
    for row_r, empty_row, cells in rows:
        r = f' r="{row_r}"' if row_r else ""
        if empty_row:
            xml.append(f"<row{r}/>")
            continue
        parts = []
        for ref, empty, prefixed in cells:
            p = "x:" if prefixed else ""
            a = f' r="{column_letters(ref[0])}{ref[1]}"' if ref else ""
            parts.append(f"<{p}c{a}/>" if empty else f"<{p}c{a}><{p}v>1</{p}v></{p}c>")
        xml.append(f"<row{r}>{''.join(parts)}</row>")
    text = sheet_xml("".join(xml)).replace('">', f'" xmlns:x="{MAIN}">', 1)
    path = workbook(tmp_path_factory.mktemp("scan") / "s.xlsx", text)
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(
        skip_empty_area=False)
    height, width = len(grid), max((len(r) for r in grid), default=0)
    big = Limits(*(10**12 for _ in range(8)))
    for exact in (True, False):
        scan = SheetScan("s.xlsx", big, exact=exact)
        scan.feed(text.encode())
        scan.close()
        if exact or not scan.needs_exact:
            assert scan.max_row + 1 >= height and scan.max_col + 1 >= width, (exact, text)
