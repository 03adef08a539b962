"""拆站 Decommissioning (DOMAIN.md §7)."""
