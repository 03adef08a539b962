"""对账单 PDF: the statement an operator prints, signs and files.

A4 landscape, Chinese, with reportlab's built-in CID font STSong-Light (Adobe-GB1; a
PDF reader supplies the glyphs, so no font file is needed or embedded). Every page
carries the statement number and "第 n 页 / 共 m 页"; the lines table repeats its header
on each page; the totals by settlement mode and the grand total are worked out from the
lines themselves, so the paper always adds up to what it lists.
"""

import io
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from towerledger.domain.codes import ZH

FONT = "STSong-Light"
ZERO = Decimal("0.00")
PAGE = landscape(A4)
MARGIN = 14 * mm
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#667085")
HEAD_BG = colors.HexColor("#e8eef7")
TOTAL_BG = colors.HexColor("#f2f4f7")
STATUS_ZH = {"ISSUED": "已出具（待运营商确认）", "CONFIRMED": "运营商已确认", "VOID": "已撤回"}


def _font():
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _m(value) -> str:
    return f"{(value if value is not None else ZERO):,.2f}"


def _styles():
    f = _font()
    return {
        "title": ParagraphStyle("title", fontName=f, fontSize=18, leading=24, alignment=1,
                                textColor=INK, spaceAfter=2 * mm),
        "sub": ParagraphStyle("sub", fontName=f, fontSize=9, leading=12, alignment=1,
                              textColor=MUTED, spaceAfter=4 * mm),
        "h2": ParagraphStyle("h2", fontName=f, fontSize=11.5, leading=15, textColor=INK,
                             spaceBefore=4 * mm, spaceAfter=2 * mm),
        "cell": ParagraphStyle("cell", fontName=f, fontSize=8, leading=10, textColor=INK),
        "head": ParagraphStyle("head", fontName=f, fontSize=8.5, leading=10.5,
                               textColor=INK, alignment=1),
        "note": ParagraphStyle("note", fontName=f, fontSize=8.5, leading=12, textColor=MUTED),
    }


class _NumberedCanvas(rl_canvas.Canvas):
    """Draws the running header and "第 n 页 / 共 m 页" once the page count is known."""

    number = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages = []

    def showPage(self):  # noqa: N802 — reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._decorate(total)
            super().showPage()
        super().save()

    def _decorate(self, total):
        w, h = PAGE
        self.saveState()
        self.setFont(_font(), 8.5)
        self.setFillColor(MUTED)
        self.drawString(MARGIN, h - 9 * mm, "中国铁塔　站址电费对账单")
        self.drawRightString(w - MARGIN, h - 9 * mm, f"对账单编号 {self.number}")
        self.setStrokeColor(colors.HexColor("#d0d5dd"))
        self.setLineWidth(0.5)
        self.line(MARGIN, h - 10.5 * mm, w - MARGIN, h - 10.5 * mm)
        self.line(MARGIN, 11 * mm, w - MARGIN, 11 * mm)
        self.drawString(MARGIN, 7 * mm, f"{self.number}")
        self.drawCentredString(w / 2, 7 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
        self.drawRightString(w - MARGIN, 7 * mm,
                             f"打印于 {timezone.localtime():%Y-%m-%d %H:%M}")
        self.restoreState()


def _grid(data, widths, head_rows=1, total_rows=0, num_from=None, repeat=False):
    t = Table(data, colWidths=widths, repeatRows=head_rows if repeat else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), _font(), 8),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c5cbd3")),
        ("BACKGROUND", (0, 0), (-1, head_rows - 1), HEAD_BG),
        ("FONTSIZE", (0, 0), (-1, head_rows - 1), 8.5),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if num_from is not None:
        style.append(("ALIGN", (num_from, 0), (-1, -1), "RIGHT"))
    if total_rows:
        style += [("BACKGROUND", (0, -total_rows), (-1, -1), TOTAL_BG),
                  ("FONTSIZE", (0, -total_rows), (-1, -1), 9)]
    t.setStyle(TableStyle(style))
    return t


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


def render_statement(statement) -> bytes:
    """The statement as a PDF (bytes)."""
    st = statement
    s = _styles()
    lines = statement_lines(st)
    modes = mode_totals(lines)
    total_cost = sum((m[2] for m in modes), ZERO)
    total_tax = sum((m[3] for m in modes), ZERO)
    total_rec = sum((m[4] for m in modes), ZERO)
    total_off = sum((ln.written_off for ln in lines), ZERO)

    story = [Paragraph("电费对账单", s["title"]),
             Paragraph(f"对账单编号 {st.number}", s["sub"])]
    op = st.operator
    info = [
        ["对账单编号", st.number, "运营商", f"{op.code} {op.name}"],
        ["地市", st.city.name if st.city_id else "全省", "所属月份", f"{st.month:%Y年%m月}"],
        ["状态", STATUS_ZH.get(st.status, st.status), "出具时间",
         f"{timezone.localtime(st.issued_at):%Y-%m-%d %H:%M}" if st.issued_at else ""],
        ["运营商确认", (f"{st.confirmed_by}，"
                        f"{timezone.localtime(st.confirmed_at):%Y-%m-%d %H:%M}")
         if st.confirmed_at else "待确认", "发票",
         (f"{st.invoice_no}，{st.invoice_date or ''}，{_m(st.invoice_amount)} 元"
          if st.invoice_no else "未开票")],
        ["明细条数", f"{len(lines):,}", "应收合计（元）", _m(total_rec)],
    ]
    t = Table(info, colWidths=[28 * mm, 100 * mm, 30 * mm, 100 * mm])
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), _font(), 9.5),
        ("TEXTCOLOR", (0, 0), (0, -1), MUTED), ("TEXTCOLOR", (2, 0), (2, -1), MUTED),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#e4e7ec")),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    story += [t, Paragraph("按结算模式汇总", s["h2"])]

    summary = [["结算模式", "明细条数", "分摊电费（元）", "税负因子金额（元）", "应收金额（元）"]]
    for mode, n, cost, tax, rec in modes:
        summary.append([ZH.get(mode, mode or "—"), f"{n:,}", _m(cost), _m(tax), _m(rec)])
    summary.append(["合计", f"{len(lines):,}", _m(total_cost), _m(total_tax), _m(total_rec)])
    story.append(_grid(summary, [50 * mm, 28 * mm, 45 * mm, 45 * mm, 45 * mm],
                       total_rows=1, num_from=1))

    story.append(Paragraph("明细", s["h2"]))
    head = ["序号", "明细号", "站址编码", "站址名称", "租户编号", "缴费单号", "模式", "计费期间",
            "天数", "分摊电费", "税负因子", "税负因子金额", "应收金额", "已核销", "未核销"]
    rows = [[Paragraph(h, s["head"]) for h in head]]
    for i, ln in enumerate(lines, start=1):
        rows.append([
            str(i), f"L{ln.pk}", ln.site.site_code,
            Paragraph(ln.site.site_name or "", s["cell"]),
            ln.tenancy.tenancy_id if ln.tenancy_id else "—",
            ln.bill.bill_no if ln.bill_id else "—", ZH.get(ln.mode, ln.mode or "—"),
            f"{ln.period_start:%Y-%m-%d}～{ln.period_end:%m-%d}", str(ln.active_days),
            _m(ln.cost_share), f"{ln.tax_factor * 100:.2f}%", _m(ln.tax_amount),
            _m(ln.receivable), _m(ln.written_off), _m(ln.receivable - ln.written_off)])
    rows.append(["合计", "", "", "", "", "", "", "", "", _m(total_cost), "", _m(total_tax),
                 _m(total_rec), _m(total_off), _m(total_rec - total_off)])
    widths = [10, 14, 22, 25, 25, 20, 11, 27, 10, 18, 13, 19, 19, 17, 17]   # 267 of 269 mm
    table = _grid(rows, [w * mm for w in widths], total_rows=1, num_from=8, repeat=True)
    table.setStyle(TableStyle([("ALIGN", (0, 1), (0, -1), "RIGHT"),
                               ("SPAN", (0, -1), (8, -1)), ("ALIGN", (0, -1), (0, -1), "LEFT"),
                               ("ROWBACKGROUNDS", (0, 1), (-1, -2),
                                [colors.white, colors.HexColor("#fafbfc")])]))
    story.append(table)

    story.append(Spacer(1, 6 * mm))
    sign = Table([["铁塔方（盖章）：", "", "运营商（盖章）：", ""],
                  ["经办人：", "日期：", "经办人：", "日期："]],
                 colWidths=[60 * mm, 70 * mm, 60 * mm, 70 * mm], rowHeights=[12 * mm, 8 * mm])
    sign.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), _font(), 9.5),
                              ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(KeepTogether([
        Paragraph("说明：应收金额 = 分摊电费 + 税负因子金额；本对账单经运营商确认后不再变更，"
                  "更正计入下期对账单。已核销、未核销为打印时的回款核销情况。", s["note"]),
        Spacer(1, 4 * mm), sign]))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"对账单 {st.number}", author="towerledger",
                            subject=f"{op.name} {st.month:%Y-%m} 电费对账单")

    class _Canvas(_NumberedCanvas):
        number = st.number

    doc.build(story, canvasmaker=_Canvas)
    return buf.getvalue()
