"""历史数据 Opening balances (DOMAIN.md §7)."""
