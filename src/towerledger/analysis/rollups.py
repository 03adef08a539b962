"""Rollups the big pages read instead of a province's history (issue 18): what receipts
have written off of each statement (``StatementPaid``) and the site ledger's sums per
(site, month, city, operator) and per (month, city, operator) (``LedgerFigures``,
``LedgerTotals``), how many sites have lines per month (``LedgerSites``: the ledger's
row count) and each statement's lines per settlement mode (``StatementModes``).

They are kept by database triggers, in the same transaction as the change: every insert
or update of a line (``settlement_line``) and every write-off or its reversal
(``collection_application``) adds its difference, so bulk paths (COPY, INSERT…SELECT,
``update()``) keep them too and nothing can drift. On PostgreSQL the triggers run once per
statement over its transition tables; on SQLite once per row. Lines and write-offs are
never deleted (a correction is a new line, a reversal a date); PostgreSQL's triggers still
take deletes off, SQLite's do not (Django's test flush deletes every table row by row).

A line's state comes from ``settlement.models.line_state`` (the one definition), written
into the triggers when they are installed: a migration re-installs them when it changes
(``tests/integration/test_page_rollups.py`` compares every figure with the lines').
``rebuild()`` recomputes all three tables from the lines, as the migration does once.
"""

from django.db import connection as default_connection

from towerledger.settlement.models import Line, line_state

LINE_COLUMNS = ("statement_id", "site_id", "month", "city_id", "operator_id", "kind",
                "status", "cost_share", "tax_amount", "receivable", "mode")
STATEMENT_COLUMNS = ("statement_id", "mode", "cost_share", "tax_amount", "receivable")
FIGURES = ("alloc", "tower", "confirmed", "disputed", "unconfirmed", "current_rec", "paid_off")
LINE_SUMS = ("cost_share", "tax_amount", "receivable")   # analysis_linetotals' sums


def _statuses(name: str) -> str:
    """``line_state(name)`` as an SQL list of statuses: ('PUSHED', 'DISPUTED')."""
    q = line_state(name)
    (lookup, value), = q.children
    assert lookup in ("status", "status__in") and not q.negated, (name, q)
    values = [value] if lookup == "status" else list(value)
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _sums(d: str = "d") -> list[str]:
    alloc = f"{d}.kind = '{Line.Kind.ALLOCATION}'"

    def when(cond, what):   # to the fen: SQLite adds decimals as floats, in any order
        return f"ROUND(SUM({d}.s * CASE WHEN {cond} THEN {what} ELSE 0 END), 2)"

    return [when(alloc, f"{d}.cost_share"),
            when(f"{alloc} AND {d}.status IN {_statuses('tower')}", f"{d}.cost_share"),
            when(f"{d}.status IN {_statuses('confirmed')}", f"{d}.receivable"),
            when(f"{d}.status IN {_statuses('disputed')}", f"{d}.receivable"),
            when(f"{d}.status IN {_statuses('unanswered')}", f"{d}.receivable"),
            when(f"{d}.status IN {_statuses('current')}", f"{d}.receivable"),
            when(f"{d}.status IN {_statuses('current')}", f"{d}.ap")]


def _add(table: str, key: tuple[str, ...]) -> str:
    return (f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET lines = {table}.lines + "
            "excluded.lines, "
            + ", ".join(f"{c} = ROUND({table}.{c} + excluded.{c}, 2)" for c in FIGURES))


def upserts(src: str, ledger_src: str | None = None, line_totals: bool = True,
            ledger_sites: str | None = None, statement_modes: bool = False) -> list[str]:
    """The statements adding the differences of ``src`` to the three rollups. ``src`` is a
    subquery of rows (s, n, statement_id, site_id, month, city_id, operator_id, kind,
    status, cost_share, receivable, ap): s the sign, n the change in the number of lines,
    ap what is written off of the line (or the write-off's amount). ``ledger_src``: the
    rows for the ledger's rollups when they are fewer (an update of lines' statements only
    changes what the statements have been paid). Differences of zero write nothing.
    ``line_totals``: keep ``LineTotals`` too (False while an older migration runs this code
    before the table exists); ``ledger_sites``: keep ``LedgerSites`` too, "cte" (PostgreSQL:
    the changed keys worked out once) or "inline" (SQLite, whose triggers take no WITH), None
    not (its table not there yet, or a rebuild, which counts it from the figures);
    ``statement_modes``: keep ``StatementModes`` too (from ``src``)."""
    ledger_src = ledger_src or src
    op_key = "CASE WHEN k.a = 1 THEN -1 ELSE COALESCE(d.operator_id, 0) END"
    op_id = "CASE WHEN k.a = 1 THEN NULL ELSE d.operator_id END"
    both = "CROSS JOIN (SELECT 0 AS a UNION ALL SELECT 1 AS a) k"
    figures = ", ".join(FIGURES)
    sums = ", ".join(_sums())
    g_figures = ", ".join(f"g.{c}" for c in FIGURES)
    named_sums = ", ".join(f"{x} AS {c}" for x, c in zip(_sums(), FIGURES, strict=True))
    nonzero = "HAVING " + " OR ".join(f"{x} <> 0" for x in ["SUM(d.n)", *_sums()])
    out = [
        "INSERT INTO analysis_statementpaid (statement_id, paid) "
        f"SELECT d.statement_id, ROUND(SUM(d.s * d.ap), 2) FROM {src} d "
        "WHERE d.statement_id IS NOT NULL GROUP BY d.statement_id "
        "HAVING ROUND(SUM(d.s * d.ap), 2) <> 0 "
        "ON CONFLICT (statement_id) DO UPDATE SET "
        "paid = ROUND(analysis_statementpaid.paid + excluded.paid, 2)",
        # the site's code looked up per group (an index probe each), not joined before
        # grouping: a join let the planner read every site of the province per statement
        "INSERT INTO analysis_ledgerfigures (site_id, site_code, month, city_id, op_key, "
        f"operator_id, lines, {figures}) "
        "SELECT g.site_id, (SELECT ss.site_code FROM sites_site ss WHERE ss.id = g.site_id), "
        f"g.month, g.city_id, g.op_key, g.operator_id, g.lines, {g_figures} "
        f"FROM (SELECT d.site_id AS site_id, d.month AS month, d.city_id AS city_id, "
        f"{op_key} AS op_key, {op_id} AS operator_id, SUM(d.n) AS lines, {named_sums} "
        f"FROM {ledger_src} d {both} GROUP BY 1, 2, 3, 4, 5 {nonzero}) g WHERE 1 = 1"
        + _add("analysis_ledgerfigures", ("site_id", "month", "city_id", "op_key")),
        *([_ledger_sites(ledger_src, ledger_sites)] if ledger_sites else []),
        "INSERT INTO analysis_ledgertotals (month, city_id, op_key, operator_id, lines, "
        f"{figures}) SELECT d.month, d.city_id, {op_key}, {op_id}, SUM(d.n), {sums} "
        f"FROM {ledger_src} d {both} WHERE 1 = 1 GROUP BY 1, 2, 3, 4 {nonzero}"
        + _add("analysis_ledgertotals", ("month", "city_id", "op_key")),
        # the lines' own rows only (n ±1): a write-off's (n 0) changes none of these
        "INSERT INTO analysis_linetotals (month, city_id, op_key, operator_id, kind, status, "
        f"lines, {', '.join(LINE_SUMS)}) SELECT d.month, d.city_id, "
        "COALESCE(d.operator_id, 0), d.operator_id, d.kind, d.status, SUM(d.n), "
        + ", ".join(f"ROUND(SUM(d.s * d.{c}), 2)" for c in LINE_SUMS)
        + f" FROM {ledger_src} d WHERE d.n <> 0 GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(d.n) <> 0 OR "
        + " OR ".join(f"ROUND(SUM(d.s * d.{c}), 2) <> 0" for c in LINE_SUMS)
        + " ON CONFLICT (month, city_id, op_key, kind, status) DO UPDATE SET lines = "
        "analysis_linetotals.lines + excluded.lines, "
        + ", ".join(f"{c} = ROUND(analysis_linetotals.{c} + excluded.{c}, 2)"
                    for c in LINE_SUMS),
    ]
    out = out if line_totals else out[:-1]
    if statement_modes:
        sums = [f"ROUND(SUM(d.s * d.{c}), 2)" for c in (*LINE_SUMS, "ap")]
        out.append(
            "INSERT INTO analysis_statementmodes (statement_id, mode, lines, "
            f"{', '.join(LINE_SUMS)}, paid) SELECT d.statement_id, d.mode, SUM(d.n), "
            f"{', '.join(sums)} FROM {src} d WHERE d.statement_id IS NOT NULL "
            f"GROUP BY 1, 2 HAVING SUM(d.n) <> 0 OR {' OR '.join(f'{x} <> 0' for x in sums)} "
            "ON CONFLICT (statement_id, mode) DO UPDATE SET lines = "
            "analysis_statementmodes.lines + excluded.lines, "
            + ", ".join(f"{c} = ROUND(analysis_statementmodes.{c} + excluded.{c}, 2)"
                        for c in (*LINE_SUMS, "paid")))
    return out


def _ledger_sites(ledger_src: str, how: str) -> str:
    """The statement adding to ``LedgerSites`` the sites that got or lost their first line
    in a (month, city, op_key) and over every city in a (month, op_key), run after
    ``LedgerFigures`` took the differences: a row has lines now (``f.lines > 0``) and had
    before (``f.lines - t.dn > 0``, ``dn`` the change in its lines). Only rows whose lines
    changed are read; a change of amounts or a write-off (n 0) writes nothing."""
    op_key = "CASE WHEN k.a = 1 THEN -1 ELSE COALESCE(d.operator_id, 0) END"
    both = "CROSS JOIN (SELECT 0 AS a UNION ALL SELECT 1 AS a) k"
    changed = (f"SELECT d.site_id AS site_id, d.month AS month, d.city_id AS city_id, "
               f"{op_key} AS op_key, SUM(d.n) AS dn FROM {ledger_src} d {both} "
               "WHERE d.n <> 0 GROUP BY 1, 2, 3, 4 HAVING SUM(d.n) <> 0")
    t = "ledger_changed" if how == "cte" else f"({changed})"
    has = "CASE WHEN f.lines > 0 THEN 1 ELSE 0 END"
    had = "CASE WHEN f.lines - {dn} > 0 THEN 1 ELSE 0 END"
    same = ("f.site_id = {t}.site_id AND f.month = {t}.month AND f.op_key = {t}.op_key"
            "{city}")
    city = " AND f.city_id = {t}.city_id"
    per_city = (f"SELECT f.month AS month, f.city_id AS city_id, f.city_id AS city_key, "
                f"f.op_key AS op_key, {has} - {had.format(dn='c.dn')} AS sites "
                f"FROM {t} c JOIN analysis_ledgerfigures f "
                f"ON {same.format(t='c', city=city.format(t='c'))}")
    # a site is counted over every city when one of its rows has lines: the rows of the
    # changed (site, month, op_key) in any city, each with its change (0 if unchanged)
    every_city = (
        "SELECT g.month AS month, NULL AS city_id, 0 AS city_key, g.op_key AS op_key, "
        "MAX(g.has) - MAX(g.had) AS sites FROM (SELECT f.site_id AS site_id, f.month AS "
        f"month, f.op_key AS op_key, {has} AS has, {had.format(dn='COALESCE(c.dn, 0)')} AS had "
        f"FROM (SELECT DISTINCT u.site_id, u.month, u.op_key FROM {t} u) s "
        f"JOIN analysis_ledgerfigures f ON {same.format(t='s', city='')} "
        f"LEFT JOIN {t} c ON {same.format(t='c', city=city.format(t='c'))}) g "
        "GROUP BY g.site_id, g.month, g.op_key")
    insert = (
        "INSERT INTO analysis_ledgersites (month, city_id, city_key, op_key, operator_id, "
        "sites) SELECT x.month, x.city_id, x.city_key, x.op_key, CASE WHEN x.op_key > 0 "
        f"THEN x.op_key END, SUM(x.sites) FROM ({per_city} UNION ALL {every_city}) x "
        "WHERE x.sites <> 0 GROUP BY x.month, x.city_id, x.city_key, x.op_key "
        "HAVING SUM(x.sites) <> 0 ON CONFLICT (month, city_key, op_key) DO UPDATE SET "
        "sites = analysis_ledgersites.sites + excluded.sites")
    return f"WITH ledger_changed AS MATERIALIZED ({changed}) {insert}" if how == "cte" \
        else insert


def _applied(line_id: str) -> str:
    return ("COALESCE((SELECT SUM(a.amount) FROM collection_application a "
            f"WHERE a.line_id = {line_id} AND a.reversed_at IS NULL), 0)")


def _line_row(sign: int, r: str) -> str:
    cols = ", ".join(f"{r}.{c} AS {c}" for c in LINE_COLUMNS)
    return f"SELECT {sign} AS s, {sign} AS n, {cols}, {_applied(f'{r}.id')} AS ap"


def _app_rows(inner: str) -> str:
    """Rows of write-off differences ``inner`` (s, line_id, amount) with their line."""
    cols = ", ".join(f"l.{c} AS {c}" for c in ("statement_id", "site_id", "month",
                                                 "city_id", "operator_id", "mode"))
    return (f"(SELECT x.s AS s, 0 AS n, {cols}, NULL AS kind, l.status AS status, "
            "0 AS cost_share, 0 AS tax_amount, 0 AS receivable, x.amount AS ap "
            f"FROM ({inner}) x JOIN settlement_line l ON l.id = x.line_id)")


def _changed(a: str, b: str, cols) -> str:
    return (f"({', '.join(f'{a}.{c}' for c in cols)}) IS DISTINCT FROM "
            f"({', '.join(f'{b}.{c}' for c in cols)})")


CHAIN_COLUMNS = ("push_date", "receivable", "operator_id", "site_id", "city_id", "root_id")


def chain_refresh(chains: str | None, site_owed: bool | str = False) -> list[str]:
    """The statements recomputing the ``ChainBalance`` rows of the chains ``chains`` (a
    subquery of one column ``c``, chain ids; None: every chain): the version is the chain's
    latest pushed line (settlement.receivables.versions, as of now), written off the sum of
    the live write-offs on any of its lines. Set-wise: a chain's lines are found by the
    original's id and the adjustments' ``root_id``, both indexed. ``site_owed``: take the
    chains' old rows off ``SiteOwed`` before and add their new rows after (SQLite, which
    keeps it here, not by triggers on ``ChainBalance``); "days": ``OwedDay`` too."""
    if chains is None:
        members = "settlement_line"
        delete = "DELETE FROM analysis_chainbalance"
    else:
        ids = f"(SELECT q.c FROM {chains} q)"
        members = (f"(SELECT x.id, x.root_id, x.push_date FROM settlement_line x "
                   f"WHERE x.id IN {ids} UNION ALL SELECT x.id, x.root_id, x.push_date "
                   f"FROM settlement_line x WHERE x.root_id IN {ids})")
        delete = f"DELETE FROM analysis_chainbalance WHERE chain IN {ids}"
    versions = ("(SELECT COALESCE(m.root_id, m.id) AS c, "
                "MAX(CASE WHEN m.push_date IS NOT NULL THEN m.id END) AS vid, "
                f"MAX(m.push_date) AS latest FROM {members} m GROUP BY COALESCE(m.root_id, m.id))")
    off = ("(SELECT COALESCE(m.root_id, m.id) AS c, SUM(a.amount) AS s "
           f"FROM {members} m JOIN collection_application a ON a.line_id = m.id "
           "WHERE a.reversed_at IS NULL GROUP BY COALESCE(m.root_id, m.id))")
    owed = [[], []]
    if site_owed and chains is not None:
        owed = [site_owed_upserts(f"(SELECT {sign} AS s, {OWED_ROW} FROM "
                                  f"analysis_chainbalance b WHERE b.chain IN {ids})",
                                  site_owed == "days") for sign in (-1, 1)]
    return [
        *owed[0],
        delete,
        "INSERT INTO analysis_chainbalance (chain, version, site_id, operator_id, city_id, "
        "chain_date, latest_push, amount, written_off) "
        "SELECT v.c, ln.id, ln.site_id, ln.operator_id, ln.city_id, "
        "COALESCE(r.push_date, ln.push_date), v.latest, ln.receivable, "
        f"COALESCE(ROUND(w.s, 2), 0) FROM {versions} v "
        "JOIN settlement_line ln ON ln.id = v.vid "
        "LEFT JOIN settlement_line r ON r.id = ln.root_id "
        f"LEFT JOIN {off} w ON w.c = v.c",
        *owed[1],
    ]


# the ChainBalance columns SiteOwed reads, of a row b
OWED_ROW = ("b.site_id AS site_id, b.city_id AS city_id, b.operator_id AS operator_id, "
            "b.chain_date AS chain_date, b.amount AS amount, b.written_off AS written_off")


def site_owed_upserts(src: str, owed_days: bool = True) -> list[str]:
    """The statements adding to ``SiteOwed`` (and ``OwedDay``, unless ``owed_days`` is
    False: its table not there yet) the differences of ``src``: rows (s, site_id, city_id,
    operator_id, chain_date, amount, written_off) of ``ChainBalance``, s the sign (+1 a row
    now there, -1 a row gone). A chain counts when it is an operator's, has its date and
    owes something (``rollups.open_chains_today``); each counts four times: in its city and
    in every city (0), for its operator and for every operator (-1)."""
    two = "(SELECT 0 AS a UNION ALL SELECT 1 AS a)"
    owed = "ROUND(SUM(d.s * (d.amount - d.written_off)), 2)"
    keys = ("CASE WHEN c.a = 1 THEN 0 ELSE d.city_id END AS city_key, "
            "CASE WHEN o.a = 1 THEN -1 ELSE d.operator_id END AS op_key, ")
    rows = (f"SUM(d.s) AS chains, {owed} AS owed FROM {src} d CROSS JOIN {two} c "
            f"CROSS JOIN {two} o WHERE d.operator_id IS NOT NULL AND d.chain_date IS NOT NULL "
            f"AND d.amount <> d.written_off GROUP BY 1, 2, 3 HAVING SUM(d.s) <> 0 OR {owed} <> 0")

    def add(table):
        return (f" ON CONFLICT ({'site_id' if table == 'analysis_siteowed' else 'chain_date'}"
                f", city_key, op_key) DO UPDATE SET chains = {table}.chains + excluded.chains, "
                f"owed = ROUND({table}.owed + excluded.owed, 2)")

    out = [
        "INSERT INTO analysis_siteowed (site_id, site_code, city_key, op_key, chains, owed) "
        "SELECT g.site_id, (SELECT ss.site_code FROM sites_site ss WHERE ss.id = g.site_id), "
        f"g.city_key, g.op_key, g.chains, g.owed FROM (SELECT d.site_id AS site_id, {keys}"
        f"{rows}) g WHERE 1 = 1" + add("analysis_siteowed")]
    if owed_days:
        out.append("INSERT INTO analysis_owedday (chain_date, city_key, op_key, chains, owed) "
                   "SELECT g.chain_date, g.city_key, g.op_key, g.chains, g.owed FROM "
                   f"(SELECT d.chain_date AS chain_date, {keys}{rows}) g WHERE 1 = 1"
                   + add("analysis_owedday"))
    return out


def _pg_chains_inserted() -> list[str]:
    """``ChainBalance`` after an INSERT of lines (PostgreSQL): what ``chain_refresh`` of the
    new lines' chains computes, without reading any other line for the usual insert.

    A new original (no ``root_id``) that no line names as its root is a chain of one line:
    its version is itself when pushed (none when not: a tower-borne line has no row), its
    dates its push date, its amount its receivable, written off what its live write-offs
    add up to. Those rows are written directly; the chains of the other new lines (an
    adjustment's, an original's that already has adjustments) are refreshed as before."""
    # a scalar subquery, one probe of the root_id index per new line: PostgreSQL plans a
    # NOT EXISTS as an anti-join hashing every line of the province, once per statement
    alone = ("r.root_id IS NULL AND (SELECT x.id FROM settlement_line x "
             "WHERE x.root_id = r.id LIMIT 1) IS NULL")
    fields = ("version", "site_id", "operator_id", "city_id", "chain_date", "latest_push",
              "amount", "written_off")
    return [
        *chain_refresh("(SELECT COALESCE(r.root_id, r.id) AS c FROM rollup_new r "
                       f"WHERE NOT ({alone}))"),
        f"INSERT INTO analysis_chainbalance (chain, {', '.join(fields)}) "
        "SELECT r.id, r.id, r.site_id, r.operator_id, r.city_id, r.push_date, r.push_date, "
        f"r.receivable, COALESCE(ROUND(w.s, 2), 0) FROM rollup_new r "
        f"{_pg_applied('rollup_new', 'r')} WHERE r.push_date IS NOT NULL AND {alone} "
        "ON CONFLICT (chain) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in fields),
    ]


# ---- PostgreSQL: statement triggers over transition tables ---------------------------------

def _pg_function(name: str, statements: list[str], unless: str = "") -> str:
    """``unless``: a condition under which the statement changed nothing the rollups read
    (PostgreSQL refuses ``UPDATE OF col`` on triggers with transition tables, so an update
    of other columns still fires them; this returns at once, after one pass over the rows,
    instead of running every upsert and the chains' refresh on empty differences)."""
    body = ";\n  ".join(statements)
    guard = f"IF {unless} THEN RETURN NULL; END IF;\n  " if unless else ""
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  {guard}{body};\n  RETURN NULL;\nEND $$")


def _pg_trigger(name: str, event: str, table: str, referencing: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"]


def _pg_applied(table: str, r: str) -> str:
    """A join giving each row ``r`` of the transition table ``table`` what is written off
    of its line (``w.s``, NULL for nothing): one aggregate over the write-offs of the
    table's id range (none, for lines just inserted), not a subquery per line."""
    return ("LEFT JOIN (SELECT a.line_id, SUM(a.amount) AS s FROM collection_application a "
            f"WHERE a.reversed_at IS NULL AND a.line_id BETWEEN (SELECT MIN(t.id) FROM {table} t) "
            f"AND (SELECT MAX(t.id) FROM {table} t) GROUP BY a.line_id) w ON w.line_id = {r}.id")


def _pg_line_row(sign: int, r: str) -> str:
    cols = ", ".join(f"{r}.{c} AS {c}" for c in LINE_COLUMNS)
    return f"SELECT {sign} AS s, {sign} AS n, {cols}, COALESCE(w.s, 0) AS ap"


def _postgresql(line_totals: bool = True, ledger_sites: bool = True,
                statement_modes: bool = True, site_owed: bool | str = "days") -> list[str]:
    sql = []
    line_ins = f"({_pg_line_row(1, 'r')} FROM rollup_new r {_pg_applied('rollup_new', 'r')})"
    line_del = f"({_pg_line_row(-1, 'r')} FROM rollup_old r {_pg_applied('rollup_old', 'r')})"

    def line_upd(columns):
        changed = _changed("r", "o", columns)
        return (f"({_pg_line_row(1, 'r')} FROM rollup_new r JOIN rollup_old o ON o.id = r.id "
                f"{_pg_applied('rollup_new', 'r')} WHERE {changed} UNION ALL "
                f"{_pg_line_row(-1, 'o')} FROM rollup_old o JOIN rollup_new r ON r.id = o.id "
                f"{_pg_applied('rollup_old', 'o')} WHERE {changed})")

    ledger_columns = [c for c in LINE_COLUMNS if c not in ("statement_id", "mode")]
    live = "reversed_at IS NULL"
    app_ins = _app_rows(f"SELECT 1 AS s, line_id, amount FROM rollup_new WHERE {live}")
    app_del = _app_rows(f"SELECT -1 AS s, line_id, amount FROM rollup_old WHERE {live}")
    moved = ("(r.line_id, r.amount, r.reversed_at IS NULL) IS DISTINCT FROM "
             "(o.line_id, o.amount, o.reversed_at IS NULL)")
    app_upd = _app_rows(
        f"SELECT 1 AS s, r.line_id, r.amount FROM rollup_new r JOIN rollup_old o "
        f"ON o.id = r.id WHERE r.{live} AND {moved} UNION ALL "
        f"SELECT -1 AS s, o.line_id, o.amount FROM rollup_old o JOIN rollup_new r "
        f"ON r.id = o.id WHERE o.{live} AND {moved}")
    moved_chain = _changed("r", "o", CHAIN_COLUMNS)
    chain_of = "COALESCE({t}.root_id, {t}.id) AS c"
    line_chains = {   # an INSERT's: _pg_chains_inserted
        "DELETE": f"(SELECT {chain_of.format(t='r')} FROM rollup_old r)",
        "UPDATE": f"(SELECT {chain_of.format(t='r')} FROM rollup_new r JOIN rollup_old o "
                  f"ON o.id = r.id WHERE {moved_chain} UNION SELECT {chain_of.format(t='o')} "
                  f"FROM rollup_old o JOIN rollup_new r ON r.id = o.id WHERE {moved_chain})"}
    of_line = f"{chain_of.format(t='l')} FROM {{t}} n JOIN settlement_line l ON l.id = n.line_id"
    app_chains = {
        "INSERT": f"(SELECT {of_line.format(t='rollup_new')})",
        "DELETE": f"(SELECT {of_line.format(t='rollup_old')})",
        "UPDATE": f"(SELECT {of_line.format(t='rollup_new')} JOIN rollup_old o ON o.id = n.id "
                  f"WHERE (n.line_id, n.amount, n.reversed_at IS NULL) IS DISTINCT FROM "
                  f"(o.line_id, o.amount, o.reversed_at IS NULL) UNION "
                  f"SELECT {of_line.format(t='rollup_old')})"}
    new, old = "NEW TABLE AS rollup_new", "OLD TABLE AS rollup_old"
    read = sorted({*LINE_COLUMNS, *CHAIN_COLUMNS})   # every line column the rollups read
    unless = {
        "rollup_line_upd": "NOT EXISTS (SELECT 1 FROM rollup_new r JOIN rollup_old o "
                           f"ON o.id = r.id WHERE {_changed('r', 'o', read)})",
        "rollup_app_upd": "NOT EXISTS (SELECT 1 FROM rollup_new r JOIN rollup_old o "
                          f"ON o.id = r.id WHERE {moved})"}
    for name, table, event, src, referencing in (
            ("rollup_line_ins", "settlement_line", "INSERT", line_ins, new),
            ("rollup_line_upd", "settlement_line", "UPDATE",
             line_upd(STATEMENT_COLUMNS if statement_modes else ["statement_id"]),
             f"{old} {new}"),
            ("rollup_line_del", "settlement_line", "DELETE", line_del, old),
            ("rollup_app_ins", "collection_application", "INSERT", app_ins, new),
            ("rollup_app_upd", "collection_application", "UPDATE", app_upd, f"{old} {new}"),
            ("rollup_app_del", "collection_application", "DELETE", app_del, old)):
        chains = _pg_chains_inserted() if name == "rollup_line_ins" else chain_refresh(
            (line_chains if table == "settlement_line" else app_chains)[event])
        ledger = line_upd(ledger_columns) if name == "rollup_line_upd" else None
        # a write-off (n 0) never changes which sites have lines
        sites = "cte" if ledger_sites and table == "settlement_line" else None
        sql.append(_pg_function(name, upserts(src, ledger, line_totals, sites, statement_modes)
                                + chains,
                                unless.get(name, "")))
        sql.extend(_pg_trigger(name, event, table, referencing))
    codes = ["analysis_ledgerfigures", *(["analysis_siteowed"] if site_owed else [])]
    sql.append(_pg_function("rollup_site_code", [
        f"UPDATE {table} f SET site_code = r.site_code FROM rollup_new r "
        "JOIN rollup_old o ON o.id = r.id WHERE f.site_id = r.id "
        "AND r.site_code <> o.site_code" for table in codes]))
    sql.extend(_pg_trigger("rollup_site_code", "UPDATE", "sites_site", f"{old} {new}"))
    if site_owed:   # SiteOwed follows ChainBalance, whatever statement writes it
        rows = {"INSERT": "(SELECT 1 AS s, {row} FROM owed_new b)",
                "DELETE": "(SELECT -1 AS s, {row} FROM owed_old b)",
                "UPDATE": "(SELECT 1 AS s, {row} FROM owed_new b UNION ALL "
                          "SELECT -1 AS s, {row} FROM owed_old b)"}
        refs = {"INSERT": "NEW TABLE AS owed_new", "DELETE": "OLD TABLE AS owed_old",
                "UPDATE": "OLD TABLE AS owed_old NEW TABLE AS owed_new"}
        for event, name in (("INSERT", "rollup_owed_ins"), ("UPDATE", "rollup_owed_upd"),
                            ("DELETE", "rollup_owed_del")):
            sql.append(_pg_function(name, site_owed_upserts(
                rows[event].format(row=OWED_ROW), site_owed == "days")))
            sql.extend(_pg_trigger(name, event, "analysis_chainbalance", refs[event]))
    return sql


# ---- SQLite: row triggers ----------------------------------------------------------------------

def _sqlite_trigger(name: str, event: str, table: str, statements: list[str],
                    when: str = "") -> list[str]:
    body = ";\n  ".join(statements)
    return [f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
            f"{'WHEN ' + when if when else ''}\nBEGIN\n  {body};\nEND"]


def _update_of(columns) -> str:
    return "UPDATE OF " + ", ".join(columns)


def _sqlite(line_totals: bool = True, ledger_sites: bool = True,
            statement_modes: bool = True, site_owed: bool | str = "days") -> list[str]:
    sql = []
    plus = f"({_line_row(1, 'NEW')})"
    minus = f"({_line_row(-1, 'OLD')})"
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in LINE_COLUMNS)
    sites = "inline" if ledger_sites else None
    sql += _sqlite_trigger("rollup_line_ins", "INSERT", "settlement_line",
                           upserts(plus, line_totals=line_totals, ledger_sites=sites,
                                   statement_modes=statement_modes))
    # UPDATE OF: an update setting none of the columns read does not even test the WHEN
    sql += _sqlite_trigger("rollup_line_upd", _update_of(LINE_COLUMNS), "settlement_line",
                           upserts(minus, line_totals=line_totals, ledger_sites=sites,
                                   statement_modes=statement_modes)
                           + upserts(plus, line_totals=line_totals, ledger_sites=sites,
                                     statement_modes=statement_modes),
                           when=changed)
    app_plus = _app_rows("SELECT 1 AS s, NEW.line_id AS line_id, NEW.amount AS amount "
                         "WHERE NEW.reversed_at IS NULL")
    app_minus = _app_rows("SELECT -1 AS s, OLD.line_id AS line_id, OLD.amount AS amount "
                          "WHERE OLD.reversed_at IS NULL")
    # SiteOwed beside each chain refresh: a row trigger on ChainBalance would also fire on
    # Django's test flush (row by row, in any table order) and leave rows behind
    sql += _sqlite_trigger("rollup_chain_ins", "INSERT", "settlement_line", chain_refresh(
        "(SELECT COALESCE(NEW.root_id, NEW.id) AS c)", site_owed))
    sql += _sqlite_trigger(
        "rollup_chain_upd", _update_of(CHAIN_COLUMNS), "settlement_line", chain_refresh(
            "(SELECT COALESCE(NEW.root_id, NEW.id) AS c UNION "
            "SELECT COALESCE(OLD.root_id, OLD.id) AS c)", site_owed),
        when=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CHAIN_COLUMNS))
    app_chain = ("(SELECT COALESCE(l.root_id, l.id) AS c FROM settlement_line l "
                 "WHERE l.id = {t}.line_id)")
    sql += _sqlite_trigger("rollup_app_ins", "INSERT", "collection_application",
                           upserts(app_plus, line_totals=line_totals,
                                   statement_modes=statement_modes)
                           + chain_refresh(app_chain.format(t="NEW"), site_owed))
    sql += _sqlite_trigger(
        "rollup_app_upd", _update_of(("line_id", "amount", "reversed_at")),
        "collection_application",
        upserts(app_minus, line_totals=line_totals, statement_modes=statement_modes)
        + upserts(app_plus, line_totals=line_totals, statement_modes=statement_modes)
        + chain_refresh(
            f"({app_chain.format(t='NEW')[1:-1]} UNION {app_chain.format(t='OLD')[1:-1]})",
            site_owed),
        when="NEW.line_id IS NOT OLD.line_id OR NEW.amount IS NOT OLD.amount OR "
             "(NEW.reversed_at IS NULL) IS NOT (OLD.reversed_at IS NULL)")
    codes = ["analysis_ledgerfigures", *(["analysis_siteowed"] if site_owed else [])]
    sql += _sqlite_trigger(
        "rollup_site_code", "UPDATE OF site_code", "sites_site",
        [f"UPDATE {table} SET site_code = NEW.site_code WHERE site_id = NEW.id"
         for table in codes], when="NEW.site_code IS NOT OLD.site_code")
    return sql


def install_sql(vendor: str, line_totals: bool = True, ledger_sites: bool = True,
                statement_modes: bool = True, site_owed: bool | str = "days") -> list[str]:
    return (_postgresql if vendor == "postgresql" else _sqlite)(line_totals, ledger_sites,
                                                                statement_modes, site_owed)


def _has_line_totals(connection) -> bool:
    """Whether ``LineTotals``' table exists yet (migrations before 0007 run this code)."""
    return "analysis_linetotals" in connection.introspection.table_names()


def present(connection) -> dict:
    """Which of the later rollups' tables exist, as ``install_sql``'s keywords (older
    migrations run this code before the tables are made)."""
    return {"line_totals": _has_line_totals(connection),
            "ledger_sites": _has_ledger_sites(connection),
            "statement_modes": _has_statement_modes(connection),
            "site_owed": _has_site_owed(connection)}


def _has_site_owed(connection) -> bool | str:
    """Whether ``SiteOwed``'s table exists yet (migrations before 0013 run this code);
    "days" when ``OwedDay``'s does too (0014)."""
    tables = connection.introspection.table_names()
    if "analysis_siteowed" not in tables:
        return False
    return "days" if "analysis_owedday" in tables else True


def _has_statement_modes(connection) -> bool:
    """Whether ``StatementModes``' table exists yet (migrations before 0011 run this code)."""
    return "analysis_statementmodes" in connection.introspection.table_names()


def _has_ledger_sites(connection) -> bool:
    """Whether ``LedgerSites``' table exists yet (migrations before 0010 run this code)."""
    return "analysis_ledgersites" in connection.introspection.table_names()


def uninstall_sql(vendor: str) -> list[str]:
    names = ("rollup_line_ins", "rollup_line_upd", "rollup_line_del", "rollup_app_ins",
             "rollup_app_upd", "rollup_app_del", "rollup_site_code", "rollup_owed_ins",
             "rollup_owed_upd", "rollup_owed_del", "rollup_chain_ins", "rollup_chain_upd")
    tables = {"rollup_site_code": "sites_site", "rollup_owed_ins": "analysis_chainbalance",
              "rollup_owed_upd": "analysis_chainbalance",
              "rollup_owed_del": "analysis_chainbalance"}
    if vendor == "postgresql":
        out = []
        for n in names[:10]:
            table = tables.get(n, "settlement_line" if "_line_" in n else "collection_application")
            out += [f"DROP TRIGGER IF EXISTS {n} ON {table}", f"DROP FUNCTION IF EXISTS {n}()"]
        return out
    return [f"DROP TRIGGER IF EXISTS {n}" for n in names]


def install(connection=None):
    """(Re)install the triggers on this database."""
    connection = connection or default_connection
    with connection.cursor() as cur:
        for statement in install_sql(connection.vendor, **present(connection)):
            cur.execute(statement)


def _every_line() -> str:
    applied = ("(SELECT line_id, SUM(amount) AS s FROM collection_application "
               "WHERE reversed_at IS NULL GROUP BY line_id)")
    cols = ", ".join(f"r.{c} AS {c}" for c in LINE_COLUMNS)
    return (f"(SELECT 1 AS s, 1 AS n, {cols}, COALESCE(w.s, 0) AS ap FROM settlement_line r "
            f"LEFT JOIN {applied} w ON w.line_id = r.id)")


def fill_line_totals(connection=None):
    """Recompute ``LineTotals`` alone from every line (its migration's first fill)."""
    connection = connection or default_connection
    with connection.cursor() as cur:
        cur.execute("DELETE FROM analysis_linetotals")
        cur.execute(upserts(_every_line())[-1])


def fill_statement_modes(connection=None):
    """Recompute ``StatementModes`` alone from the lines on statements (its migration's
    first fill)."""
    connection = connection or default_connection
    with connection.cursor() as cur:
        cur.execute("DELETE FROM analysis_statementmodes")
        cur.execute(upserts(_every_line(), statement_modes=True)[-1])


def rebuild(connection=None):
    """Recompute the rollups from every line and live write-off."""
    connection = connection or default_connection
    src, line_totals = _every_line(), _has_line_totals(connection)
    with connection.cursor() as cur:
        for table in ("analysis_statementpaid", "analysis_ledgerfigures",
                      "analysis_ledgertotals", "analysis_chainbalance"):
            cur.execute(f"DELETE FROM {table}")
        if line_totals:
            cur.execute("DELETE FROM analysis_linetotals")
        modes = _has_statement_modes(connection)
        if modes:
            cur.execute("DELETE FROM analysis_statementmodes")
        for statement in upserts(src, line_totals=line_totals, statement_modes=modes):
            cur.execute(statement)
        for statement in chain_refresh(None):
            cur.execute(statement)
    if _has_ledger_sites(connection):
        fill_ledger_sites(connection)
    if _has_site_owed(connection):
        fill_site_owed(connection)


def fill_site_owed(connection=None):
    """Recompute ``SiteOwed`` (and ``OwedDay`` once it exists) from ``ChainBalance`` (their
    migrations' first fill and ``rebuild``'s)."""
    connection = connection or default_connection
    days = _has_site_owed(connection) == "days"
    with connection.cursor() as cur:
        cur.execute("DELETE FROM analysis_siteowed")
        if days:
            cur.execute("DELETE FROM analysis_owedday")
        for statement in site_owed_upserts(
                f"(SELECT 1 AS s, {OWED_ROW} FROM analysis_chainbalance b)", days):
            cur.execute(statement)


def fill_ledger_sites(connection=None):
    """Recompute ``LedgerSites`` from ``LedgerFigures`` (one pass over its rows; its
    migration's first fill and ``rebuild``'s)."""
    connection = connection or default_connection
    operator = "CASE WHEN f.op_key > 0 THEN f.op_key END"
    with connection.cursor() as cur:
        cur.execute("DELETE FROM analysis_ledgersites")
        cur.execute(
            "INSERT INTO analysis_ledgersites (month, city_id, city_key, op_key, operator_id, "
            f"sites) SELECT f.month, f.city_id, f.city_id, f.op_key, {operator}, COUNT(*) "
            "FROM analysis_ledgerfigures f WHERE f.lines > 0 "
            "GROUP BY f.month, f.city_id, f.op_key "
            f"UNION ALL SELECT f.month, NULL, 0, f.op_key, {operator}, "
            "COUNT(DISTINCT f.site_id) FROM analysis_ledgerfigures f WHERE f.lines > 0 "
            "GROUP BY f.month, f.op_key")


# ---- reading: ageing as of today ----------------------------------------------------------

def open_chains_today(user, as_of, **filters):
    """The chains that owe something as of ``as_of`` in the user's scope (``ChainBalance``
    rows, filtered by the version line's ``filters``), or None when the rollup cannot
    answer: it holds the chains as they stand now, which are the chains as of ``as_of``
    only when that is today and nothing is dated after it (no line pushed, no receipt
    received, no write-off reversed later)."""
    from django.db.models import F
    from django.utils import timezone

    from towerledger.access.scope import scope_filter
    from towerledger.analysis.models import ChainBalance
    from towerledger.collection.models import Receipt
    from towerledger.settlement.models import Application
    from towerledger.settlement.receivables import day_end

    if as_of != timezone.localdate():
        return None
    if (ChainBalance.objects.filter(latest_push__gt=as_of).exists()
            or Receipt.objects.filter(received_date__gt=as_of).exists()
            or Application.objects.filter(reversed_at__gte=day_end(as_of)).exists()):
        return None
    scope = scope_filter(user, "settlement.line")   # the version's city and operator
    if scope is None:
        return ChainBalance.objects.none()
    return ChainBalance.objects.filter(scope, operator__isnull=False,
                                       chain_date__lte=as_of).filter(**filters) \
        .exclude(amount=F("written_off"))


def site_owed_today(user, as_of, **filters):
    """(the open chains ``open_chains_today`` gives, the ``SiteOwed`` rows of the same
    scope and filters: one per site that owes, with its chains and what they owe, and the
    ``OwedDay`` rows: the same by push date), or None when the rollup cannot answer
    (``open_chains_today``, or a scope or filter that is not one city and one operator at
    most)."""
    from towerledger.access.scope import scope_filter
    from towerledger.analysis.models import OwedDay, SiteOwed
    from towerledger.org.models import Operator

    chains = open_chains_today(user, as_of, **filters)
    if chains is None:
        return None
    scope = scope_filter(user, "settlement.line")
    if scope is None:
        return chains, SiteOwed.objects.none(), OwedDay.objects.none()
    keys = {"city": set(), "operator": set()}
    if scope.negated or (scope.children and scope.connector != "AND"):
        return None
    for child in scope.children:
        if not isinstance(child, tuple) or child[0] not in keys:
            return None
        keys[child[0]].add(child[1])
    for name, value in filters.items():
        if name == "city_id":
            keys["city"].add(value)
        elif name == "operator__code":
            keys["operator"].add(Operator.objects.filter(code=value).values_list(
                "pk", flat=True).first())
        else:
            return None
    if None in keys["operator"] or any(len(v) > 1 for v in keys.values()):
        # two cities or operators: nothing is both
        return chains, SiteOwed.objects.none(), OwedDay.objects.none()
    (city,), (operator,) = keys["city"] or {SiteOwed.ALL_CITIES}, \
        keys["operator"] or {SiteOwed.ALL_OPERATORS}
    return (chains, SiteOwed.objects.filter(city_key=city, op_key=operator).exclude(chains=0),
            OwedDay.objects.filter(city_key=city, op_key=operator).exclude(chains=0))


def ageing_today(user, by: str, as_of, **filters) -> list[dict] | None:
    """``collection.services.ageing(user, by, as_of, **filters)`` read from
    ``ChainBalance``, or None when it cannot answer (``open_chains_today``)."""
    from django.db.models import Count, F, Sum

    from towerledger.collection.services import BUCKETS, GROUPS
    from towerledger.domain import ageing as ageing_rule
    from towerledger.settlement.receivables import fen

    chains = open_chains_today(user, as_of, **filters)
    if chains is None:
        return None
    keys = GROUPS[by]
    rows = chains.values(*keys, "chain_date") \
        .annotate(left=Sum(F("amount") - F("written_off")), chains=Count("pk")) \
        .order_by().values_list(*keys, "chain_date", "left", "chains")
    groups = {}
    for *key, pushed, left, n in rows:
        g = groups.get(key := tuple(key))
        if g is None:
            g = groups[key] = {"key": " / ".join(str(v) for v in key), "total": fen(0),
                               "lines": 0, "buckets": {label: fen(0) for *_, label in BUCKETS}}
        g["total"] += fen(left)
        g["lines"] += n
        g["buckets"][BUCKETS[ageing_rule.bucket((as_of - pushed).days)][2]] += fen(left)
    return [groups[k] for k in sorted(groups, key=lambda k: tuple(str(v) for v in k))]
