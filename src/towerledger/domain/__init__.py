"""The business rules of DOMAIN.md as pure Python: no Django, Decimal only."""
