"""油机发电 Generator dispatch (DOMAIN.md §7)."""
