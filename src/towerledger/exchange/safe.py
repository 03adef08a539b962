"""Cells safe to open in a spreadsheet: text that Excel would run as a formula is quoted.

OWASP's CSV-injection advice: a cell beginning with = + - @ tab or carriage return is
prefixed with a single quote, unless it is a plain number (a negative amount stays numeric).
"""

import re

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_DANGEROUS) and not _NUMBER.match(value):
        return "'" + value
    return value
