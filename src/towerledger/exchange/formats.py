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
            if kw.get("maximum") is None and kw.get("digits"):
                bounds += f", ≤ {kw['digits'] - kw['places']} 位整数 integer digits"
            unit = ", 百分数 percent (`60` = `60%`)" if kw.get("percent") else ""
            return f"数字 number, ≤ {kw['places']} 位小数 decimals{bounds}{unit}"
        if parse.func is v.parse_int:
            return f"整数 integer {kw.get('minimum')}–{kw.get('maximum')}"
        if parse.func is v.parse_enum:
            return "代码 code: " + " \\| ".join(m.value for m in kw["enum"])
    if hasattr(parse, "chars"):
        _, zh, en = s.CODE_CHARS[parse.chars]
        return f"编码 code, ≤ {parse.longest}: {zh} {en}"
    return {
        s.name: "文本 text, ≤ 120",
        s.org_name: "名称 name, ≤ 40, 须已存在 must exist (see 组织数据)",
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


RULES = [
    "## Rules for every import 通用规则", "",
    "**Scope 范围.** Every row is judged against the importing user's scope before anything "
    "is written; a row outside it is a row error `不在您的范围内 / outside your scope` "
    "naming the row, the column and the value, and (all-or-nothing) nothing is stored. "
    "A province admin (and a CLI run without `--user`) imports for the whole province. A "
    "city clerk imports only their city: sites whose 地市 is their city (never an existing "
    "site of another city — no rename, no move — nor one as a host), tenancies, rules, "
    "sub-meter and smart-meter rows on their sites (never an existing tenancy of another "
    "city), supply accounts, bills and payments whose account feeds only sites of their "
    "city, and receipts whose 地市 is their city (a receipt without a city is the "
    "province's). The tax-factor table (`tax_factors`) is the province admins' alone. "
    "Viewers and operator users import nothing (operators answer through "
    "confirmation, disputes and electronic reconciliation).", "",
    "**Organisation data 组织数据.** The 省份 and 地市 a sites file names must exist: a "
    "misspelt city is a row error `地市 X 不存在 / no such city X`, not a new city. "
    "`towerledger import sites FILE --create-org` (province admins only) creates the "
    "provinces, cities and counties the file names — how a new database gets its "
    "organisation tree (the demo, the synthetic province and the tests do this). A new "
    "区县 under an existing city is ordinary in real data: a province admin's file adds "
    "it; a clerk's file may only name existing counties.", "",
    "**Preview 预览.** `towerledger import KIND FILE --dry-run` (on the import page: tick "
    "先预览变更, then 确认导入) checks the file as usual and tells what storing it would "
    "change — new records, changed ones field by field (before → after), ended ones (a "
    "tenancy's `end_date` or a site's `decommission_date` newly set), removed ones (an "
    "account's splits the file no longer lists) and how many stay unchanged — and writes "
    "nothing. The answer and what is stored do not depend on the order of the rows or of "
    "the files. Kinds other than the master data preview their counts only.", "",
    "**Dated master data 按日期生效.** An agreed ratio (`agreed_ratio`, tenancies) and an "
    "allocation rule with its tower share (`rules`) take effect from their date and never "
    "change a line already pushed. Ratios of the tenancies active on a day that do not sum "
    "to 100 are renormalised and reported on the bill (RATIO_SUM), never refused.", "",
    "**Numbers 数字.** Each number column takes its limits from the database column it is "
    "stored in (total digits and decimal places): more integer digits than the column "
    "holds (`1e20`, `1e400`, `12345678901234.00` in a money column), more decimals than it "
    "keeps, `NaN`, `Infinity`, `1_000`, or a negative number where the column says `≥ 0`, "
    "is a row error naming row and column — never a rounding, never a crash. Thousands "
    "separators (`1,234.50`) are accepted. A percent sign is accepted only in the ratio "
    "columns (`agreed_ratio`, `split_ratio`, `tower_share`, `factor_pct`), whose unit is "
    "already percent: "
    "`60%` and `60` both mean 60 %. In a money or kWh column `100%` is a row error, not "
    "an amount of 100.00.", "",
    "**Codes 编码.** Identifiers take letters, digits, `-`, `_` and `.` only (`site_code`, "
    "`host_site_code`, `tenancy_id`, `account_no`, `receipt_no`): a `/` would break the "
    "site's address (`/sites/<site_code>/`) and a space or a Chinese character is almost "
    "always a typing slip. `bill_no` also takes Chinese characters (landlords number their "
    "bills by hand, e.g. `物业2024-05`); `payment_ref` also takes `/` and `#` (a bank's "
    "reference, and the one the product writes for a bill paid without one, "
    "`ACCOUNT/BILL#n`). NUL and other control characters are a row error in every text "
    "column; tabs and line breaks in names are kept.", "",
]


def limits_rule() -> list[str]:
    """The reading limits (importers/limits.py), from their defaults, so the page and the
    code cannot disagree."""
    from towerledger.importers.limits import DEFAULTS, MB

    d = DEFAULTS
    return [
        "**Files 文件.** A file is measured before it is read, and one beyond a limit is "
        "refused as a whole — `文件 NAME：… / NAME: …`, naming the file and the reason, "
        "nothing written — on the import page, the CLI (exit 1) and the reconciliation page "
        f"alike: at most {d['IMPORT_MAX_FILE_BYTES'] // MB} MB on disk "
        f"(`IMPORT_MAX_FILE_BYTES`); {d['IMPORT_MAX_ROWS']:,} data rows "
        f"(`IMPORT_MAX_ROWS`), {d['IMPORT_MAX_COLUMNS']} columns (`IMPORT_MAX_COLUMNS`) and "
        f"{d['IMPORT_MAX_FIELD_CHARS']:,} characters in one cell "
        "(`IMPORT_MAX_FIELD_CHARS`; the refusal names the row). An XLSX is a "
        f"zip: at most {d['IMPORT_MAX_ZIP_ENTRIES']:,} entries, "
        f"{d['IMPORT_MAX_UNZIPPED_BYTES'] // MB} MB decompressed, counted as it really "
        "inflates, not as the zip declares (`IMPORT_MAX_UNZIPPED_BYTES`), and no entry "
        f"compressed more than {d['IMPORT_MAX_ZIP_RATIO']}:1 (`IMPORT_MAX_ZIP_RATIO`) — a "
        "zip bomb is refused before it expands. Its sheets' declared `<dimension>` and "
        "every cell (a styled empty one too) must lie within the rows and columns above, and the "
        f"area from A1 to the farthest cell within {d['IMPORT_MAX_SHEET_CELLS']:,} cells "
        "(`IMPORT_MAX_SHEET_CELLS`): one stray value at `XFD1048576` makes a 2 KB file span "
        "17 billion cells — delete it (Ctrl+End shows where the sheet ends) and save again. "
        "Every worksheet in the file is checked, though only the first is read. Legacy "
        "Excel 97-2003 `.xls` files are refused: save them as `.xlsx`. Each limit is a "
        "setting (docs/production.md).", "",
        "**Large files 大文件.** A file is read, checked and stored as it streams, 25,000 rows "
        "at a time in one transaction, so its length does not change the memory an import "
        "takes; what you see is the same as for a small file: every bad row reported (a key "
        "or payment reference repeated anywhere in the file names the first row), nothing "
        "stored unless every row is good (or `--keep-going`), the error report with every "
        "row. The import result lists the first 10,000 errors and counts all; the report has "
        "them all. A CSV's encoding is judged on its start (or, when that is plain ASCII, on "
        "the first part that is not); a row further on that is not in that encoding — a file "
        "pasted together from UTF-8 and GBK parts — refuses the file naming the row: save it "
        "as UTF-8 throughout. Sites and accounts files (rules across rows: host sites, an "
        "account's splits) and previews are still judged whole.", "",
    ]


def import_formats_markdown() -> str:
    head = ["# Import formats 导入格式", "",
            "Generated from the importer's own schemas by `scripts/gen_docs.py`; do not edit "
            "by hand. 由导入程序的列定义自动生成。", "",
            "Every import accepts CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or XLSX; headers in "
            "Chinese or the English names below, case and spaces ignored, a unit in brackets "
            "such as `金额(元)` ignored. `towerledger template KIND` writes an empty file with "
            "the Chinese headers (required ones marked `*`).", "",
            *RULES, *limits_rule()]
    order = ["sites", "tenancies", "accounts", "rules", "bills", "payments", "submeter",
             "smartmeter"]
    kinds = sorted((k for k in KINDS.values() if k.importable),
                   key=lambda k: (order.index(k.name) if k.name in order else 99, k.name))
    return "\n".join(head + [line for k in kinds for line in kind_markdown(k)])
