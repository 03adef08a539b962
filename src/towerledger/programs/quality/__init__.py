"""资源数据质量 Resource data quality (DOMAIN.md §7)."""
