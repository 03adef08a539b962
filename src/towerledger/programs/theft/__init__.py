"""偷电整治与效益分成 Theft rectification and savings sharing (DOMAIN.md §7)."""
