"""市场化交易 Market trading (DOMAIN.md §7)."""
