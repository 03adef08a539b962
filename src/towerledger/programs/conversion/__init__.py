"""转改直 Resupply to direct supply (DOMAIN.md §7)."""
