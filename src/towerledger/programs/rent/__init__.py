"""场租与场地费包干 Site rent and lump-sum site fees (DOMAIN.md §7)."""
