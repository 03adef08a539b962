"""Money and kWh are Decimal (or exact fractions) in the domain layer: no float() there."""

import re
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "towerledger" / "domain"


def test_no_float_in_the_domain_layer():
    found = [f"{p.name}:{i}" for p in sorted(DOMAIN.glob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"\bfloat\(", line)]
    assert not found, found
