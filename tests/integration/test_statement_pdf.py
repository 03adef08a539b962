"""The statement PDF laid out as a finance document: a statement of 80+ lines with bill
numbers up to the field's 60 characters renders at least 25 line rows a page, no text box
crosses its column or runs into its neighbour (pdfminer coordinates), every page brings
forward the previous total (承前页) and carries its own on (转后页), and the grand total is
the statement XLSX's."""

import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTCurve, LTTextBox

from tests.integration.test_collection import confirmed, month  # noqa: F401
from tests.web.test_pages import login
from towerledger.bills.models import Bill
from towerledger.collection import services
from towerledger.settlement.models import Line

D = Decimal
MONEY = re.compile(r"^-?[\d,]+\.\d\d$")
LINE_ID = re.compile(r"^L\d+$")


@pytest.fixture
def long_statement(confirmed, users):  # noqa: F811
    st = next(s for s in services.issue_statements(month(), users["admin"])
              if s.operator.code == "CMCC")
    line = Line.objects.filter(statement=st).select_related("bill").first()
    bill_fields = {f.attname: getattr(line.bill, f.attname)
                   for f in Bill._meta.concrete_fields if f.attname != "id"}
    line_fields = {f.attname: getattr(line, f.attname) for f in Line._meta.concrete_fields
                   if f.attname != "id"}
    for i in range(80):
        # the longest bill numbers the field holds, and some shorter, like a real month
        no = (f"HA-ZZ-2026-05-SUPPLEMENTARY-ELECTRICITY-{i:05d}-20-REISSUED-X"[:60]
              if i % 3 else f"BILL-{i:04d}-20")
        bill = Bill.objects.create(**{**bill_fields, "bill_no": no, "payment_ref": f"PR-T{i}"})
        cost = line.cost_share + D(i) / 100
        Line.objects.create(**{**line_fields, "kind": "ADJUSTMENT", "bill_id": bill.pk,
                               "cost_share": cost, "receivable": cost + line.tax_amount})
    assert Line.objects.filter(statement=st).count() >= 77
    return st


def _pages(pdf: bytes):
    """Per page: the text boxes (x0, x1, y, text) and the table's vertical rules (x, y0, y1)."""
    # small char margin: a gap of a third of a character starts a new box, so two
    # columns' texts are never merged into one box by the extraction itself
    params = LAParams(char_margin=0.3, line_margin=0.3, word_margin=0.1)
    out = []
    for layout in extract_pages(io.BytesIO(pdf), laparams=params):
        boxes = [(b.x0, b.x1, (b.y0 + b.y1) / 2, b.get_text().replace("\n", ""))
                 for b in layout if isinstance(b, LTTextBox)]
        rules = [(e.x0, e.y0, e.y1) for e in layout
                 if isinstance(e, LTCurve) and abs(e.x0 - e.x1) < 0.01 and e.height > 8]
        out.append((boxes, rules))
    return out


def _rows(boxes):
    """Boxes grouped by row (centres within 3 pt), each row sorted left to right."""
    rows = []
    for box in sorted(boxes, key=lambda b: -b[2]):
        if rows and abs(rows[-1][0][2] - box[2]) < 3:
            rows[-1].append(box)
        else:
            rows.append([box])
    return [sorted(r) for r in rows]


def _sums(rows, label):
    """The five sums (cost, tax amount, receivable, written off, outstanding) of the
    row that starts with label, or None."""
    for r in rows:
        if r[0][3] == label:
            return [D(b[3].replace(",", "")) for b in r if MONEY.match(b[3])]
    return None


def test_statement_pdf_fits_25_lines_a_page_without_overlap_and_carries_totals(
        long_statement, users):
    st = long_statement
    client = login(users["cmcc"])
    r = client.get(reverse("statement_pdf", args=[st.pk]))
    assert r.status_code == 200
    pages = _pages(r.content)
    n_lines = Line.objects.filter(statement=st).count()

    carried, seen = None, 0
    table_pages = [p for p in pages if any(LINE_ID.match(b[3]) for b in p[0])]
    for k, (boxes, rules) in enumerate(table_pages):
        rows = _rows(boxes)
        line_rows = [r for r in rows if any(LINE_ID.match(b[3]) for b in r)]
        seen += len(line_rows)
        if k < len(table_pages) - 1:
            assert len(line_rows) >= 25, (k + 1, len(line_rows))
        # no overlap between neighbours, and each box inside one column of the grid
        for row in line_rows:
            y = row[0][2]
            cols = sorted({round(x, 1) for x, y0, y1 in rules if y0 <= y <= y1})
            assert len(cols) == 16, cols   # 15 columns
            for left, right in zip(row, row[1:], strict=False):
                assert left[1] <= right[0] + 0.01, (left, right)
            for x0, x1, _y, text in row:
                inside = [a for a, b in zip(cols, cols[1:], strict=False) if a - 0.5 <= x0 and x1 <= b + 0.5]
                assert inside, (text, x0, x1, cols)
        # 承前页 + this page's lines = 转后页 (or 合计 on the last page)
        page_sum = _sums(rows, "本页小计")
        lines_here = [D(row[-3][3].replace(",", "")) for row in line_rows]   # receivable
        assert page_sum[2] == sum(lines_here, D("0"))
        brought = _sums(rows, "承前页")
        assert (brought is None) == (k == 0)
        if brought is not None:
            assert brought == carried
        onward = _sums(rows, "转后页") or _sums(rows, "合计")
        assert onward == [a + b for a, b in zip(brought or [D(0)] * 5, page_sum, strict=True)]
        carried = onward
    assert seen == n_lines
    assert len(table_pages) <= -(-n_lines // 25)

    # the grand total is the XLSX's, column for column
    x = client.get(reverse("statement_xlsx", args=[st.pk]))
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(x.streaming_content))).active.values)
    head, total = rows[0], rows[-1]
    col = {h: i for i, h in enumerate(head)}
    assert carried == [D(str(total[col[c]])).quantize(D("0.01")) for c in
                       ("cost_share", "tax_amount", "receivable", "written_off", "outstanding")]
    # every bill number is on the paper, whole (wrapped parts joined back)
    text = "".join(b[3] for boxes, _r in pages for b in boxes)
    for no in Line.objects.filter(statement=st).values_list("bill__bill_no", flat=True):
        assert no in text or no.replace("-", "") in text.replace("-", "")
