"""The tenancies and accounts imports on PostgreSQL, set-based (exchange.staged).

The file's parsed rows sit in a temporary staging table (``Stage.table``: ``_row``,
``_ok`` and one typed column per field); each rule of ``sites.imports`` — the scope
(``authorise_tenancies`` / ``authorise_accounts``), the archive guard of the decommission
program (``programs.decommission.checks.archived_rows``) and the kind's own checks — is one
query over it, with the same messages, and the store is one ``INSERT … SELECT … ON
CONFLICT`` statement per file (plus the refresh of each tenancy's current ratio), with the
same counts as ``store_tenancies`` / ``store_accounts``. SQLite keeps those Python paths.

Which rows a rule judges is as in ``exchange.services._check``: the scope first, on every
row still ``_ok``; then the archive guard and the kind's own checks on the rows the user
may write (``Stage.judged``), all of them against the same rows (an account's splits are
summed over the rows judged together). The framework marks the rows found bad, checks the
rows with a bad cell beside the others and, keeping going, checks the rows left again.
"""

from towerledger.db.bulk import Counts
from towerledger.domain.codes import SettlementMode, SiteStatus
from towerledger.exchange.staged import Stage, Staged
from towerledger.importers.schema import RowError
from towerledger.org.models import Operator
from towerledger.sites.imports import ACCOUNT_FIELDS, TENANCY_FIELDS
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy, TenancyRatio
from towerledger.sites.staged import archive_guarded, unknown_sites


def _t(model) -> str:
    return model._meta.db_table


SITE, TENANCY, RATIO = _t(Site), _t(Tenancy), _t(TenancyRatio)
ACCOUNT, SPLIT, OPERATOR = _t(SupplyAccount), _t(AccountSite), _t(Operator)


def archived_sites(stage: Stage, tenancies: bool) -> list[RowError]:
    """The decommission program's guard (``archived_rows``): no row for an archived site,
    except a tenancy row ending the tenancy by the decommission date
    (``domain.decommission.archived_row_allowed``)."""
    if not archive_guarded(stage):
        return []
    allowed = ("AND NOT (s.end_date IS NOT NULL AND "
               "(x.decommission_date IS NULL OR s.end_date <= x.decommission_date))"
               if tenancies else "")
    return stage.errors(
        f"SELECT s._row, 'site_code', "
        f"'站址 ' || s.site_code || ' 已归档（拆站），不能再导入其数据；如需恢复请先重新启用站址', "
        f"'site ' || s.site_code || ' is archived (decommissioned): its data cannot be "
        f"imported; reopen the site first' "
        f"FROM {stage.table} s JOIN {SITE} x ON x.site_code = s.site_code "
        f"WHERE {stage.judged} AND x.status = %s {allowed} ORDER BY s._row",
        [SiteStatus.ARCHIVED.value])


# ---- tenancies -----------------------------------------------------------------------------

def check_tenancies(stage: Stage) -> list[RowError]:
    """``imports.authorise_tenancies`` (the site, and an existing tenancy moved onto it),
    then on the rows inside the scope the guard and ``imports.check_tenancies``."""
    errors = list(dict.fromkeys(stage.outside("site_code", Site)
                                + stage.outside("tenancy_id", Tenancy)))
    stage.set_out(errors)
    t, judged = stage.table, stage.judged
    day = "to_char(s.{}, 'YYYY-MM-DD')"
    return errors + (
        archived_sites(stage, tenancies=True)
        + unknown_sites(stage)
        + stage.errors(
            f"SELECT s._row, 'end_date', "
            f"'服务终止日期 ' || {day.format('end_date')} || ' 早于起租日期', "
            f"'end_date ' || {day.format('end_date')} || ' is before start_date ' "
            f"|| {day.format('start_date')} "
            f"FROM {t} s WHERE {judged} AND s.end_date < s.start_date ORDER BY s._row")
        + stage.errors(
            f"SELECT s._row, 'lump_sum_monthly', '包干结算须填写包干月金额', "
            f"'LUMP_SUM tenancies need lump_sum_monthly' FROM {t} s "
            f"WHERE {judged} AND s.settlement_mode = %s AND s.lump_sum_monthly IS NULL "
            f"ORDER BY s._row", [SettlementMode.LUMP_SUM.value])
        + stage.errors(
            f"SELECT s._row, 'effective_from', '比例生效日期须与约定分摊比例一起填写', "
            f"'effective_from dates an agreed_ratio: give the ratio too' FROM {t} s "
            f"WHERE {judged} AND s.effective_from IS NOT NULL AND s.agreed_ratio IS NULL "
            f"ORDER BY s._row"))


ANALYZE_AFTER = 1_000   # accounts inserted before the table's statistics are refreshed


def _one(cur, sql, params=None):
    cur.execute(sql, params)
    return cur.fetchone()


def store_tenancies(stage: Stage) -> Counts:
    """``sites.imports.store_tenancies``: the tenancies (new ones inserted in row order,
    changed ones updated), the dated ratios (a row's agreed_ratio from its effective_from,
    or its start), each rated tenancy's current ratio (``refresh_current_ratios``). A few
    statements over the staging table, which learns each row's tenancy id (``_tid``) and
    whether its tenancy changed (``_changed``): joins on it are estimated from its own
    statistics, never from a chain of CTEs over a table filled moments ago."""
    t, cur = stage.table, stage.cursor
    cols = ", ".join(TENANCY_FIELDS)
    values = ("x.id, o.id, s.start_date, s.end_date, s.settlement_mode, s.lump_sum_monthly, "
              "s.rated_power_w, s.dc_current_a")
    joined = (f"FROM {t} s JOIN {SITE} x ON x.site_code = s.site_code "
              f"JOIN {OPERATOR} o ON o.code = s.operator")
    cur.execute(f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS _tid bigint, "
                "ADD COLUMN IF NOT EXISTS _changed boolean NOT NULL DEFAULT false")
    cur.execute(f"UPDATE {t} s SET _tid = m.id FROM {TENANCY} m "
                f"WHERE s._ok AND m.tenancy_id = s.tenancy_id")
    rows, new = _one(cur, f"SELECT count(*), count(*) FILTER (WHERE _tid IS NULL) FROM {t} "
                          "WHERE _ok")
    theirs = ", ".join(f"m.{f}" for f in TENANCY_FIELDS)
    cur.execute(f"""
        WITH u AS (
            UPDATE {TENANCY} m SET ({cols}) = ({values}) {joined}
            WHERE s._ok AND m.id = s._tid AND ({theirs}) IS DISTINCT FROM ({values})
            RETURNING m.id)
        UPDATE {t} s SET _changed = true FROM u WHERE s._ok AND s._tid = u.id""")
    updated = cur.rowcount
    # new tenancies in row order (ids ascending, as copy_insert), with their only ratio
    cur.execute(f"INSERT INTO {TENANCY} (tenancy_id, {cols}, agreed_ratio) "
                f"SELECT s.tenancy_id, {values}, s.agreed_ratio {joined} "
                f"WHERE s._ok AND s._tid IS NULL ORDER BY s._row")
    (moved,) = _one(cur, f"""
        WITH r AS (
            INSERT INTO {RATIO} AS r (tenancy_id, effective_from, agreed_ratio)
            SELECT m.id, coalesce(s.effective_from, s.start_date), s.agreed_ratio
            FROM {t} s JOIN {TENANCY} m ON m.tenancy_id = s.tenancy_id
            WHERE s._ok AND s.agreed_ratio IS NOT NULL
            ON CONFLICT (tenancy_id, effective_from) DO UPDATE
            SET agreed_ratio = EXCLUDED.agreed_ratio
            WHERE r.agreed_ratio IS DISTINCT FROM EXCLUDED.agreed_ratio
            RETURNING r.tenancy_id)
        SELECT count(*) FROM r JOIN {t} s ON s._tid = r.tenancy_id
        WHERE s._ok AND NOT s._changed""")
    # the ratio in force last becomes the current one of the tenancies that existed (a new
    # tenancy's is its only ratio, inserted with it)
    cur.execute(f"""
        UPDATE {TENANCY} m SET agreed_ratio = latest.agreed_ratio
        FROM (SELECT DISTINCT ON (r.tenancy_id) r.tenancy_id, r.agreed_ratio
              FROM {t} s JOIN {RATIO} r ON r.tenancy_id = s._tid
              WHERE s._ok AND s.agreed_ratio IS NOT NULL
              ORDER BY r.tenancy_id, r.effective_from DESC) latest
        WHERE m.id = latest.tenancy_id
          AND m.agreed_ratio IS DISTINCT FROM latest.agreed_ratio""")
    return Counts(created=new, updated=updated + moved, unchanged=rows - new - updated - moved)


# ---- supply accounts -----------------------------------------------------------------------

def check_accounts(stage: Stage) -> list[RowError]:
    """``imports.authorise_accounts`` (the sites, and the account: every site it feeds must
    be the user's), then on the rows inside the scope the guard and
    ``imports.check_accounts``: an account's rows agree with its first row (the first of
    the rows that parsed whole, as the Python path lists those before the others), its
    splits sum to 100, its contract price is not above its cap."""
    errors = list(dict.fromkeys(stage.outside("site_code", Site)
                                + stage.outside("account_no", SupplyAccount)))
    stage.set_out(errors)
    t, judged = stage.table, stage.judged
    # one pass: each judged row beside its account's first row, split total and row count
    differs = ", ".join(f"s.{f} IS DISTINCT FROM first_value(s.{f}) OVER g AS d_{f}"
                        for f in ACCOUNT_FIELDS)
    hits = ", ".join(
        f"('{f}', d_{f} AND _row <> first_row, "
        f"'与第 ' || first_row || ' 行同一户号的 {f} 不一致', "
        f"'{f} differs from row ' || first_row || ' of the same account')"
        for f in ACCOUNT_FIELDS)
    return errors + (
        archived_sites(stage, tenancies=False)
        + unknown_sites(stage)
        + stage.errors(f"""
            SELECT w._row, e.col, e.zh, e.en FROM (
                SELECT s._row, s.account_no, s.contract_price, s.price_cap,
                       first_value(s._row) OVER g AS first_row,
                       count(*) OVER a AS n, sum(s.split_ratio) OVER a AS total, {differs}
                FROM {t} s WHERE {judged} AND s.account_no IN (
                    SELECT account_no FROM {t} WHERE {judged} GROUP BY account_no
                    HAVING count(*) > 1 OR sum(split_ratio) <> 100
                        OR bool_or(contract_price > price_cap))
                WINDOW g AS (PARTITION BY s.account_no ORDER BY s._bad, s._row),
                       a AS (PARTITION BY s.account_no)) w
            CROSS JOIN LATERAL (VALUES {hits},
                ('split_ratio', w.total <> 100,
                 '户号 ' || w.account_no || ' 的分摊比例合计 ' || w.total || '，应为 100',
                 'split ratios of account ' || w.account_no || ' sum to ' || w.total
                 || ', not 100'),
                ('contract_price', w._row = w.first_row AND w.contract_price > w.price_cap,
                 '合同单价高于单价上限', 'contract_price is above price_cap')
            ) e(col, hit, zh, en)
            WHERE (w.n > 1 OR w.total <> 100 OR w.contract_price > w.price_cap) AND e.hit
            ORDER BY w._row"""))


def store_accounts(stage: Stage) -> Counts:
    """``sites.imports.store_accounts``: each account from its first row (new ones
    inserted in the order of their first rows, changed ones updated), its splits, and the
    splits of those accounts the file no longer lists removed. Counts are per file row: a
    row is updated when its account's fields or its split changed, or a split of its
    account was removed. The staging table learns whether a row's account changed
    (``_changed``)."""
    fields = ACCOUNT_FIELDS
    cols = ", ".join(fields)
    t, cur = stage.table, stage.cursor
    given = {"multiplier": "coalesce(s.multiplier, 1)",
             "supplier_name": "coalesce(s.supplier_name, '')",
             "lump_sum": "coalesce(s.lump_sum, false)"}
    firsts = (f"SELECT DISTINCT ON (s.account_no) s._row, s.account_no, "
              f"{', '.join(given.get(f, 's.' + f) + ' AS ' + f for f in fields)} "
              f"FROM {t} s WHERE s._ok ORDER BY s.account_no, s._row")
    cur.execute(f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS _changed boolean NOT NULL "
                "DEFAULT false")
    theirs = ", ".join(f"a.{f}" for f in fields)
    mine = ", ".join(f"f.{f}" for f in fields)
    cur.execute(f"""
        WITH u AS (
            UPDATE {ACCOUNT} a SET ({cols}) = ({mine}) FROM ({firsts}) f
            WHERE a.account_no = f.account_no AND ({theirs}) IS DISTINCT FROM ({mine})
            RETURNING a.account_no)
        UPDATE {t} s SET _changed = true FROM u WHERE s._ok AND s.account_no = u.account_no""")
    cur.execute(f"INSERT INTO {ACCOUNT} (account_no, {cols}) "
                f"SELECT account_no, {cols} FROM ({firsts}) f WHERE NOT EXISTS ("
                f"SELECT 1 FROM {ACCOUNT} a WHERE a.account_no = f.account_no) ORDER BY f._row")
    if cur.rowcount >= ANALYZE_AFTER:   # the join below is planned from fresh statistics
        cur.execute(f"ANALYZE {ACCOUNT}")
    rows, created, updated, moved = _one(cur, f"""
        WITH src AS MATERIALIZED (
            SELECT s._row, a.id AS _aid, x.id AS site_id, s.split_ratio, s._changed
            FROM {t} s JOIN {SITE} x ON x.site_code = s.site_code
            JOIN {ACCOUNT} a ON a.account_no = s.account_no WHERE s._ok),
        splits AS (
            INSERT INTO {SPLIT} AS x (account_id, site_id, split_ratio)
            SELECT _aid, site_id, split_ratio FROM src ORDER BY _row
            ON CONFLICT (account_id, site_id) DO UPDATE SET split_ratio = EXCLUDED.split_ratio
            WHERE x.split_ratio IS DISTINCT FROM EXCLUDED.split_ratio
            RETURNING x.account_id, x.site_id, x.xmax = 0 AS created),
        stale AS (
            DELETE FROM {SPLIT} x USING (SELECT DISTINCT _aid FROM src) a
            WHERE x.account_id = a._aid AND NOT EXISTS (
                SELECT 1 FROM src WHERE src._aid = x.account_id AND src.site_id = x.site_id)
            RETURNING x.account_id),
        changed AS (
            SELECT DISTINCT _aid AS id FROM src WHERE _changed
            UNION SELECT account_id FROM stale)
        SELECT (SELECT count(*) FROM src),
               (SELECT count(*) FROM splits WHERE created),
               (SELECT count(*) FROM splits WHERE NOT created),
               (SELECT count(*) FROM src JOIN changed ON changed.id = src._aid
                LEFT JOIN splits ON splits.account_id = src._aid
                                AND splits.site_id = src.site_id
                WHERE splits.account_id IS NULL)""")
    return Counts(created=created, updated=updated + moved,
                  unchanged=rows - created - updated - moved)


TENANCIES = Staged(check=check_tenancies, store=store_tenancies)
ACCOUNTS = Staged(check=check_accounts, store=store_accounts)
