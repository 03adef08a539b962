"""Meter analytics (动环 / 智能电表): hourly smart-meter and FSU readings kept as Parquet
files outside the ledger database, one job definition run on DuckDB (embedded) or Apache
Spark (a cluster), per-site daily aggregates back into the ledger, and the findings (theft
suspicion, benchmark deviations) that feed the audit queue and the theft cases."""
