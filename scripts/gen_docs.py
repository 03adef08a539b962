"""Regenerate the generated parts of docs/ (import formats) from the code."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "towerledger.config.settings")

import django  # noqa: E402

django.setup()

from towerledger.exchange.formats import import_formats_markdown  # noqa: E402

target = ROOT / "docs" / "import-formats.md"
target.write_text(import_formats_markdown(), encoding="utf-8")
print(f"wrote {target}")
