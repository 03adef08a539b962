"""The generated user-guide pages match the code (run scripts/gen_docs.py after a change)."""

from pathlib import Path

from towerledger.exchange.formats import import_formats_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_import_formats_page_is_up_to_date():
    page = (DOCS / "import-formats.md").read_text(encoding="utf-8")
    assert page == import_formats_markdown(), "run: .venv/bin/python scripts/gen_docs.py"


def test_import_formats_page_lists_every_importable_kind():
    page = (DOCS / "import-formats.md").read_text(encoding="utf-8")
    for kind in ("sites", "tenancies", "accounts", "rules", "bills", "payments"):
        assert f"`towerledger import {kind} FILE`" in page
