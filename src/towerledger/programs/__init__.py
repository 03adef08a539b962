"""The programs around the core (DOMAIN.md §7, 标准化模块): theft rectification and savings
sharing, 转改直, market trading, site rent and lump-sum site fees, decommissioning, the
resource-data scorecard, generator dispatch, accruals and the general-ledger export, and the
take-over of a legacy ledger.

Each program is a Django app of its own under this package, above the analysis layer and
below the entry points (web, api, cli). A program reaches the operators only as lines of
its own kind, through ``settlement.program_lines``; it takes part in the month close
through the signals of ``analysis.close``; it registers its imports and exports with
``exchange`` at ready() time like every other app.
"""
