"""Compile every .po under src/towerledger/locale to .mo with polib (no gettext binaries)."""

from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "src" / "towerledger" / "locale"

for po_path in sorted(LOCALE.rglob("*.po")):
    po = polib.pofile(str(po_path))
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    print(f"{po_path.relative_to(LOCALE)}: {len(po.translated_entries())} translated, "
          f"{len(po.untranslated_entries())} untranslated")
