"""Export a kind with its canonical English names, and write empty import templates."""

import sys
from pathlib import Path

from towerledger.exchange.files import write_csv, write_table
from towerledger.exchange.registry import get_kind


def export_kind(kind_name: str, user, fmt: str = "csv", output: Path | None = None) -> int:
    kind = get_kind(kind_name)
    if kind.export_rows is None:
        raise ValueError(f"{kind_name} cannot be exported (导入专用 import only)")
    headers = list(kind.export_fields)
    rows = ([r[f] for f in headers] for r in kind.export_rows(user))
    if output is None:
        if fmt != "csv":
            raise ValueError("XLSX needs --output FILE")
        return write_csv(sys.stdout, headers, rows)
    output = Path(output)
    if output.suffix.lower() != f".{fmt}":
        output = output.with_suffix(f".{fmt}")
    return write_table(output, headers, rows)


def write_template(kind_name: str, output: Path) -> Path:
    """An empty file with the Chinese headers (required ones marked *)."""
    kind = get_kind(kind_name)
    if not kind.importable:
        raise ValueError(f"{kind_name} is not an import kind (仅导出 export only)")
    headers = [f.zh + ("*" if f.required else "") for f in kind.schema.fields]
    write_table(output, headers, [])
    return output
