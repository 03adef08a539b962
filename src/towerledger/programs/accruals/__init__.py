"""暂估与总账 Accruals and the general ledger (DOMAIN.md §7)."""
