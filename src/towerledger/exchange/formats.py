"""The import formats as a Markdown page, written from the schemas themselves so the user
guide cannot drift from what the importer accepts (``scripts/gen_docs.py``; a test checks)."""

from functools import partial

from towerledger.exchange.registry import KINDS
from towerledger.importers import schema as s
from towerledger.importers import values as v


def describe(field: s.Field) -> str:
    """A short bilingual description of what a column accepts."""
    parse = field.parse
    if isinstance(parse, partial):
        kw = parse.keywords
        if parse.func is v.parse_decimal:
            bounds = "".join(f", ≥ {kw['minimum']}" if kw.get("minimum") is not None else "")
            bounds += f", ≤ {kw['maximum']}" if kw.get("maximum") is not None else ""
            return f"数字 number, ≤ {kw['places']} 位小数 decimals{bounds}"
        if parse.func is v.parse_int:
            return f"整数 integer {kw.get('minimum')}–{kw.get('maximum')}"
        if parse.func is v.parse_enum:
            return "代码 code: " + " \\| ".join(m.value for m in kw["enum"])
    return {
        s.code: "文本 text, ≤ 40",
        s.name: "文本 text, ≤ 120",
        s.yes_no: "是/否 yes/no",
        v.parse_date: "日期 date (2024-05-01, 2024/5/1, 2024年5月1日, Excel)",
    }.get(parse, "文本 text")


def kind_markdown(kind) -> list[str]:
    sch = kind.schema
    lines = [f"## {sch.kind} — {sch.zh}", "",
             f"`towerledger import {sch.kind} FILE` · 自然键 natural key: "
             f"{' + '.join(f'`{k}`' for k in sch.key)}", "",
             "| English name | 中文列名 | required 必填 | accepts 格式 | also accepted 别名 |",
             "|---|---|---|---|---|"]
    for f in sch.fields:
        lines.append(f"| `{f.name}` | {f.zh} | {'是 yes' if f.required else ''} | "
                     f"{describe(f)} | {', '.join(f.aliases)} |")
    lines += ["", *(f"* {n}" for n in sch.notes)] if sch.notes else []
    return [*lines, ""]


def import_formats_markdown() -> str:
    head = ["# Import formats 导入格式", "",
            "Generated from the importer's own schemas by `scripts/gen_docs.py`; do not edit "
            "by hand. 由导入程序的列定义自动生成。", "",
            "Every import accepts CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or XLSX; headers in "
            "Chinese or the English names below, case and spaces ignored, a unit in brackets "
            "such as `金额(元)` ignored. `towerledger template KIND` writes an empty file with "
            "the Chinese headers (required ones marked `*`).", ""]
    order = ["sites", "tenancies", "accounts", "rules", "bills", "payments", "submeter",
             "smartmeter"]
    kinds = sorted((k for k in KINDS.values() if k.importable),
                   key=lambda k: (order.index(k.name) if k.name in order else 99, k.name))
    return "\n".join(head + [line for k in kinds for line in kind_markdown(k)])
