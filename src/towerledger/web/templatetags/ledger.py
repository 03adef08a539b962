"""Template filters for money and codes."""

from decimal import Decimal, InvalidOperation

from django import template

from towerledger.web.labels import code_label

register = template.Library()


@register.filter
def money(value, places=2):
    """1234.5 → 1,234.50 (thousands separated, fixed decimals, right-aligned by the cell)."""
    if value in (None, ""):
        return ""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return value
    return f"{d:,.{int(places)}f}"


@register.filter
def get(mapping, key):
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.filter
def pct(value, places=2):
    """A fraction as a percentage: 0.161290 → 16.13 %; ``places`` decimals."""
    if value in (None, ""):
        return ""
    try:
        d = Decimal(str(value)) * 100
    except InvalidOperation:
        return value
    return f"{d:,.{int(places)}f} %"


@register.filter
def code(value):
    """A stored code in the page's language: "DIRECT 直供电" in Chinese, "direct supply"
    in English (web.labels.code_label)."""
    return code_label(value)
