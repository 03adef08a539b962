"""对账单 PDF: the statement an operator prints, signs and files.

A4 landscape, Chinese, with reportlab's built-in CID font STSong-Light (Adobe-GB1; a
PDF reader supplies the glyphs, so no font file is needed or embedded).

Drawn on the canvas with fixed row heights rather than platypus tables, because the
pagination must be known before drawing: every page of lines brings forward the
previous pages' total (承前页), adds its own subtotal (本页小计) and carries the sum to the
next page (转后页), the way a paper ledger does, so each page can be checked on its own.
Every text is fitted to its column with reportlab's stringWidth — shrunk, then wrapped
onto two lines — so a long bill number never runs into the next column. The figures are
the lines' own stored amounts, the same the statement's XLSX lists, so both add up alike.
"""

import io
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas

from towerledger.domain.codes import ZH

FONT = "STSong-Light"
ZERO = Decimal("0.00")
PAGE_W, PAGE_H = landscape(A4)
MARGIN = 14 * mm
TOP = PAGE_H - 14 * mm          # content starts below the running header
BOTTOM = 15 * mm                # content ends above the footer
ROW = 14.0                      # one line row, in points (two lines of 6 pt fit)
HEAD_ROW = 21.0                 # the column header (two lines of text at most)
PAD = 1.6 * mm                  # cell padding left and right
SIZE = 7.5                      # body text size; fitted text shrinks from here
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#667085")
RULE = colors.HexColor("#c5cbd3")
HEAD_BG = colors.HexColor("#e8eef7")
TOTAL_BG = colors.HexColor("#f2f4f7")
STRIPE = colors.HexColor("#fafbfc")
STATUS_ZH = {"ISSUED": "已出具（待运营商确认）", "CONFIRMED": "运营商已确认", "VOID": "已撤回"}

# (header, width in mm, right-aligned); 269 mm = the page between the margins
COLUMNS = (
    ("序号", 8, True), ("明细号", 14, False), ("站址编码", 24, False), ("站址名称", 25, False),
    ("租户编号", 21, False), ("缴费单号", 40, False), ("模式", 10, False),
    ("计费期间", 24, False), ("天数", 8, True), ("分摊电费", 18, True), ("税负因子", 12, True),
    ("税负因子金额", 17, True), ("应收金额", 18, True), ("已核销", 15, True), ("未核销", 15, True),
)
MONEY_FROM = 9                  # first money column; the five sums sit in columns 9, 11–14
SUM_COLUMNS = (9, 11, 12, 13, 14)
EDGES = [MARGIN]
for _c in COLUMNS:
    EDGES.append(EDGES[-1] + _c[1] * mm)


def _font():
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _m(value) -> str:
    return f"{(value if value is not None else ZERO):,.2f}"


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Greedy wrap by width; breaks after a separator when one is near, else anywhere
    (bill numbers have no spaces)."""
    lines, cur = [], ""
    for ch in text:
        if cur and stringWidth(cur + ch, FONT, size) > width:
            cut = max(cur.rfind(sep) for sep in "-_/ ")
            if cut >= len(cur) // 2:
                lines.append(cur[:cut + 1])
                cur = cur[cut + 1:]
            else:
                lines.append(cur)
                cur = ""
        cur += ch
    return lines + [cur] if cur else lines


def fit(text: str, width: float, size: float = SIZE, wrap: bool = True, wrap_first=False):
    """(lines, font size) that keep text inside width: shrink to 6 pt on one line, then
    two lines from 6 pt down to 4 pt; a text longer still is cut with an ellipsis.
    wrap_first (column headers): two lines at full size before shrinking."""
    _font()
    if wrap_first and stringWidth(text, FONT, size) > width:
        lines = _wrap(text, width, size)
        if len(lines) <= 2:
            return lines, size
    for sz in (size, 7.0, 6.5, 6.0):
        if sz <= size and stringWidth(text, FONT, sz) <= width:
            return [text], sz
    if not wrap:   # numbers never wrap: shrink until they fit
        sz = 6.0
        while sz > 3 and stringWidth(text, FONT, sz) > width:
            sz -= 0.25
        return [text], sz
    for sz in (6.0, 5.5, 5.0, 4.5, 4.0):
        lines = _wrap(text, width, sz)
        if len(lines) <= 2:
            return lines, sz
    first, rest = lines[0], "".join(lines[1:])
    while rest and stringWidth(rest + "…", FONT, 4.0) > width:
        rest = rest[:-1]
    return [first, rest + "…"], 4.0


def statement_lines(statement):
    return list(statement.lines.select_related("site", "tenancy", "bill")
                .order_by("site__site_code", "month", "pk"))


def mode_totals(lines) -> list[tuple[str, int, Decimal, Decimal, Decimal]]:
    """(mode, lines, cost share, tax-factor amount, receivable) per settlement mode."""
    acc = defaultdict(lambda: [0, ZERO, ZERO, ZERO])
    for ln in lines:
        a = acc[ln.mode or ""]
        a[0] += 1
        a[1] += ln.cost_share
        a[2] += ln.tax_amount
        a[3] += ln.receivable
    return [(mode, *acc[mode]) for mode in sorted(acc)]


def _sums(lines) -> list[Decimal]:
    """cost share, tax-factor amount, receivable, written off, outstanding."""
    out = [ZERO] * 5
    for ln in lines:
        for i, v in enumerate((ln.cost_share, ln.tax_amount, ln.receivable, ln.written_off,
                               ln.receivable - ln.written_off)):
            out[i] += v
    return out


def _cells(i, ln) -> list[str]:
    return [str(i), f"L{ln.pk}", ln.site.site_code, ln.site.site_name or "",
            ln.tenancy.tenancy_id if ln.tenancy_id else "—",
            ln.bill.bill_no if ln.bill_id else "—", ZH.get(ln.mode, ln.mode or "—"),
            f"{ln.period_start:%Y-%m-%d}～{ln.period_end:%m-%d}", str(ln.active_days),
            _m(ln.cost_share), f"{ln.tax_factor * 100:.2f}%", _m(ln.tax_amount),
            _m(ln.receivable), _m(ln.written_off), _m(ln.receivable - ln.written_off)]


class _Sheet:
    """One canvas and a cursor `y` (the top of the next thing to draw)."""

    def __init__(self, buf, st, pages):
        self.c = rl_canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H))
        self.c.setTitle(f"对账单 {st.number}")
        self.c.setAuthor("towerledger")
        self.c.setSubject(f"{st.operator.name} {st.month:%Y-%m} 电费对账单")
        self.st, self.pages, self.page, self.y = st, pages, 1, TOP
        self._frame()

    def _frame(self):
        c = self.c
        c.setFont(_font(), 8.5)
        c.setFillColor(MUTED)
        c.drawString(MARGIN, PAGE_H - 9 * mm, "中国铁塔　站址电费对账单")
        c.drawRightString(PAGE_W - MARGIN, PAGE_H - 9 * mm, f"对账单编号 {self.st.number}")
        c.setStrokeColor(colors.HexColor("#d0d5dd"))
        c.setLineWidth(0.5)
        c.line(MARGIN, PAGE_H - 10.5 * mm, PAGE_W - MARGIN, PAGE_H - 10.5 * mm)
        c.line(MARGIN, 11 * mm, PAGE_W - MARGIN, 11 * mm)
        c.drawString(MARGIN, 7 * mm, self.st.number)
        c.drawCentredString(PAGE_W / 2, 7 * mm, f"第 {self.page} 页 / 共 {self.pages} 页")
        c.drawRightString(PAGE_W - MARGIN, 7 * mm, f"打印于 {timezone.localtime():%Y-%m-%d %H:%M}")
        c.setFillColor(INK)

    def new_page(self):
        self.c.showPage()
        self.page += 1
        self.y = TOP
        self._frame()

    def text(self, s, x0, x1, top, height, size=SIZE, right=False, wrap=True, color=INK,
             wrap_first=False):
        """s fitted between x0 and x1 (padding inside), centred in the band top..top-height."""
        lines, sz = fit(s, x1 - x0 - 2 * PAD, size, wrap, wrap_first)
        lead = sz * 1.1
        # first baseline: the block of lines centred on the band (a glyph sits ~0.35 em
        # below its centre line)
        base = top - height / 2 + (len(lines) - 1) * lead / 2 - sz * 0.35
        self.c.setFont(FONT, sz)
        self.c.setFillColor(color)
        for k, part in enumerate(lines):
            yy = base - k * lead
            if right:
                self.c.drawRightString(x1 - PAD, yy, part)
            else:
                self.c.drawString(x0 + PAD, yy, part)

    def row(self, cells, height=ROW, fill=None, edges=EDGES, rights=None, size=SIZE,
            spans=(), head=False):
        """One table row; `spans` are (first, last) column ranges drawn as one cell."""
        c, top = self.c, self.y
        if fill is not None:
            c.setFillColor(fill)
            c.rect(edges[0], top - height, edges[-1] - edges[0], height, stroke=0, fill=1)
        c.setStrokeColor(RULE)
        c.setLineWidth(0.4)
        c.line(edges[0], top - height, edges[-1], top - height)
        merged = {k for a, b in spans for k in range(a + 1, b + 1)}
        ends = {a: b for a, b in spans}
        for k, s in enumerate(cells):
            if k in merged:
                continue
            x0, x1 = edges[k], edges[ends.get(k, k) + 1]
            c.setStrokeColor(RULE)
            c.line(x0, top, x0, top - height)
            if s:
                self.text(s, x0, x1, top, height, size, right=bool(rights and rights[k]),
                          wrap=not (rights and rights[k]), wrap_first=head and len(s) > 4)
        c.line(edges[-1], top, edges[-1], top - height)
        self.y -= height

    def head(self):
        c = self.c
        c.setStrokeColor(RULE)
        c.setLineWidth(0.4)
        c.line(EDGES[0], self.y, EDGES[-1], self.y)
        self.row([h for h, _w, _r in COLUMNS], HEAD_ROW, HEAD_BG, size=8, head=True)

    def sum_row(self, label, sums, fill=TOTAL_BG):
        cells = [label] + [""] * (len(COLUMNS) - 1)
        for k, v in zip(SUM_COLUMNS, sums, strict=True):
            cells[k] = _m(v)
        self.row(cells, ROW, fill, rights=[False] + [True] * (len(COLUMNS) - 1),
                 spans=((0, MONEY_FROM - 1),))


def _first_page_block(sheet, st, lines, total):
    """Title and the statement's particulars (three rows of three pairs)."""
    c = sheet.c
    c.setFont(FONT, 16)
    c.setFillColor(INK)
    c.drawCentredString(PAGE_W / 2, sheet.y - 16, "电费对账单")
    sheet.y -= 26
    op = st.operator
    confirmed = (f"{st.confirmed_by}，{timezone.localtime(st.confirmed_at):%Y-%m-%d %H:%M}"
                 if st.confirmed_at else "待确认")
    invoice = (f"{st.invoice_no}，{st.invoice_date or ''}，{_m(st.invoice_amount)} 元"
               if st.invoice_no else "未开票")
    issued = f"{timezone.localtime(st.issued_at):%Y-%m-%d %H:%M}" if st.issued_at else ""
    info = [["运营商", f"{op.code} {op.name}", "所属月份", f"{st.month:%Y年%m月}",
             "地市", st.city.name if st.city_id else "全省"],
            ["状态", STATUS_ZH.get(st.status, st.status), "出具时间", issued,
             "运营商确认", confirmed],
            ["明细条数", f"{len(lines):,}", "应收合计（元）", _m(total), "发票", invoice]]
    edges = [MARGIN]
    for w in (20, 66, 28, 60, 22, 73):
        edges.append(edges[-1] + w * mm)
    for r in info:
        top = sheet.y
        for k, s in enumerate(r):
            sheet.text(s, edges[k], edges[k + 1], top, ROW, 8.5, color=MUTED if k % 2 == 0 else INK)
        c.setStrokeColor(colors.HexColor("#e4e7ec"))
        c.setLineWidth(0.3)
        c.line(edges[0], top - ROW, edges[-1], top - ROW)
        sheet.y -= ROW
    sheet.y -= 8


FIRST_BLOCK = 26 + 3 * ROW + 8
CLOSING = 2 * 14 + ROW * 7 + 14 + 24 + 50   # mode summary (up to 5 modes), note, signatures


def paginate(n: int) -> list[tuple[int, int]]:
    """(start, end) of the lines on each page: header, 承前页 (from page 2), lines,
    本页小计 and 转后页/合计 fill the page between the running header and footer."""
    room = TOP - BOTTOM
    first = int((room - FIRST_BLOCK - HEAD_ROW - 2 * ROW) // ROW)
    other = int((room - HEAD_ROW - 3 * ROW) // ROW)
    out, start = [], 0
    while True:
        size = first if not out else other
        out.append((start, min(n, start + size)))
        start += size
        if start >= n:
            return out


def _closing(sheet, modes, lines, sums):
    """Totals by settlement mode, the note and the two signature blocks."""
    c = sheet.c
    sheet.y -= 10
    c.setFont(FONT, 11)
    c.setFillColor(INK)
    c.drawString(MARGIN, sheet.y - 11, "按结算模式汇总")
    sheet.y -= 18
    edges = [MARGIN]
    for w in (40, 24, 40, 40, 40):
        edges.append(edges[-1] + w * mm)
    rights = [False, True, True, True, True]
    sheet.c.setStrokeColor(RULE)
    sheet.c.line(edges[0], sheet.y, edges[-1], sheet.y)
    sheet.row(["结算模式", "明细条数", "分摊电费（元）", "税负因子金额（元）", "应收金额（元）"],
              ROW + 2, HEAD_BG, edges=edges, size=8, head=True)
    for mode, n, cost, tax, rec in modes:
        sheet.row([ZH.get(mode, mode or "—"), f"{n:,}", _m(cost), _m(tax), _m(rec)],
                  edges=edges, rights=rights)
    sheet.row(["合计", f"{len(lines):,}", _m(sums[0]), _m(sums[1]), _m(sums[2])],
              fill=TOTAL_BG, edges=edges, rights=rights)
    sheet.y -= 8
    c.setFont(FONT, 8.5)
    c.setFillColor(MUTED)
    c.drawString(MARGIN, sheet.y - 9, "说明：应收金额 = 分摊电费 + 税负因子金额；本对账单经运营商确认后不再变更，"
                 "更正计入下期对账单。已核销、未核销为打印时的回款核销情况。")
    sheet.y -= 30
    c.setFont(FONT, 9.5)
    c.setFillColor(INK)
    for x, who in ((MARGIN, "铁塔方（盖章）："), (MARGIN + 135 * mm, "运营商（盖章）：")):
        c.drawString(x, sheet.y - 10, who)
        c.drawString(x, sheet.y - 40, "经办人：")
        c.drawString(x + 60 * mm, sheet.y - 40, "日期：")
    sheet.y -= 50


def render_statement(statement) -> bytes:
    """The statement as a PDF (bytes)."""
    st = statement
    _font()
    lines = statement_lines(st)
    modes = mode_totals(lines)
    sums = _sums(lines)
    chunks = paginate(len(lines))
    last_rows = chunks[-1][1] - chunks[-1][0]
    used = (FIRST_BLOCK if len(chunks) == 1 else 0) + HEAD_ROW + (last_rows + 3) * ROW
    extra = used + CLOSING > TOP - BOTTOM          # the closing block needs its own page
    buf = io.BytesIO()
    sheet = _Sheet(buf, st, len(chunks) + (1 if extra else 0))
    _first_page_block(sheet, st, lines, sums[2])
    carried = [ZERO] * 5
    for p, (a, b) in enumerate(chunks):
        if p:
            sheet.new_page()
        sheet.head()
        if p:
            sheet.sum_row("承前页", carried, fill=None)
        rights = [r for _h, _w, r in COLUMNS]
        for i in range(a, b):
            sheet.row(_cells(i + 1, lines[i]), fill=STRIPE if (i - a) % 2 else None,
                      rights=rights)
        page_sums = _sums(lines[a:b])
        sheet.sum_row("本页小计", page_sums, fill=None)
        carried = [x + y for x, y in zip(carried, page_sums, strict=True)]
        sheet.sum_row("合计" if p == len(chunks) - 1 else "转后页", carried)
    if extra:
        sheet.new_page()
    _closing(sheet, modes, lines, sums)
    sheet.c.showPage()
    sheet.c.save()
    return buf.getvalue()
