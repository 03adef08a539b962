"""The sites and allocation-rules imports on the staged path (PostgreSQL, exchange.staged):
``sites.imports``' checks, authorise and stores as set-based SQL over the staging table,
with the same messages, counts and stored rows.

The decommission program's import guard (``programs.decommission.checks``: no rows for an
archived site; the sites import keeps an archive as it is) wraps a kind's Python check; its
rule is repeated here set-wise, and applies when the registered kind's check carries the
guard (``archive_guard``), i.e. when the program is installed."""

from django.db import connection

from towerledger.access.scope import OUTSIDE_EN, OUTSIDE_ZH, write_city_id, writes_everywhere
from towerledger.domain.codes import Method, SiteStatus
from towerledger.exchange.staged import Stage, Staged, upsert
from towerledger.importers.schema import RowError
from towerledger.org.models import City, County, Province
from towerledger.sites.models import AllocationRule, Site

SITE = Site._meta.db_table
PROVINCE, CITY, COUNTY = (m._meta.db_table for m in (Province, City, County))


def archive_guarded(stage: Stage) -> bool:
    """The decommission program wraps the registered kind's check in its archive guard
    (``programs.decommission.checks.guard_imports``): then its rule applies here too."""
    return bool(getattr(getattr(stage.kind, "check", None), "archive_guard", False))


def unknown_sites(stage: Stage, column: str = "site_code") -> list[RowError]:
    """``imports._unknown_sites``: judged rows naming a site that does not exist."""
    qn = connection.ops.quote_name
    c = qn(column)
    return stage.errors(
        f"SELECT s._row, %s, '站址编码 ' || s.{c} || ' 不存在（请先导入站址）', "
        f"'unknown site_code ' || s.{c} || ' (import sites first)' FROM {stage.table} s "
        f"WHERE {stage.judged} AND NOT EXISTS (SELECT 1 FROM {SITE} x WHERE x.site_code = s.{c}) "
        "ORDER BY s._row", [column])


def archived_rows(stage: Stage, column: str = "site_code") -> list[RowError]:
    """``decommission.checks.archived_rows`` for kinds naming a site in ``column`` (not a
    tenancy, whose rows ending by the decommission date are allowed there)."""
    c = connection.ops.quote_name(column)
    return stage.errors(
        f"SELECT s._row, 'site_code', "
        f"'站址 ' || s.{c} || ' 已归档（拆站），不能再导入其数据；如需恢复请先重新启用站址', "
        f"'site ' || s.{c} || ' is archived (decommissioned): its data cannot be imported; "
        f"reopen the site first' FROM {stage.table} s JOIN {SITE} x ON x.site_code = s.{c} "
        f"WHERE {stage.judged} AND x.status = %s ORDER BY s._row", [SiteStatus.ARCHIVED.value])


# ---- allocation rules ------------------------------------------------------------------

def check_rules(stage: Stage) -> list[RowError]:
    """``imports.authorise_rules`` (by site), then on the rows inside the scope the guard
    and ``imports.check_rules``."""
    errors = stage.outside("site_code", Site)
    stage.set_out(errors)
    if archive_guarded(stage):
        errors += archived_rows(stage)
    errors += unknown_sites(stage)
    errors += stage.errors(
        f"SELECT _row, 'fallback_method', '备用分摊方式不能是分户计量', "
        f"'fallback_method cannot be SUBMETER' FROM {stage.table} "
        f"WHERE {stage.judged} AND fallback_method = %s ORDER BY _row", [Method.SUBMETER.value])
    return errors


def store_rules(stage: Stage):
    source = (f"SELECT s._row, x.id AS site_id, s.effective_from, s.method, "
              f"coalesce(s.fallback_method, %s) AS fallback_method, "
              f"coalesce(s.common_policy, 'PRO_RATA') AS common_policy, "
              f"coalesce(s.tower_share, 0) AS tower_share "
              f"FROM {stage.table} s JOIN {SITE} x ON x.site_code = s.site_code WHERE s._ok")
    return upsert(stage, AllocationRule, source, ("site_id", "effective_from"),
                  ("method", "fallback_method", "common_policy", "tower_share"),
                  [Method.EQUAL.value])


RULES = Staged(check=check_rules, store=store_rules)


# ---- sites -----------------------------------------------------------------------------

def _org_errors(stage: Stage) -> list[RowError]:
    """``imports._org_errors``: provinces and cities must exist unless the import creates
    them; a new county needs a province admin."""
    if stage.importer.create_org:
        return []
    new_counties = writes_everywhere(stage.importer.user)
    return stage.errors(f"""
        SELECT _row, col,
               CASE col WHEN 'province' THEN '省份 ' || p || ' 不存在'
                        WHEN 'city' THEN '地市 ' || c || ' 不存在'
                        ELSE '区县 ' || k || ' 不存在（新增区县须由省管理员导入）' END,
               CASE col WHEN 'province' THEN 'no such province ' || p
                        WHEN 'city' THEN 'no such city ' || c
                        ELSE 'no such county ' || k || ' (a new county needs a province admin)'
               END
        FROM (SELECT s._row, coalesce(s.province, 'None') AS p, coalesce(s.city, 'None') AS c,
                     coalesce(s.county, 'None') AS k,
                     CASE WHEN pr.id IS NULL THEN 'province' WHEN ci.id IS NULL THEN 'city'
                          WHEN co.id IS NULL AND NOT %s THEN 'county' END AS col
              FROM {stage.table} s
              LEFT JOIN {PROVINCE} pr ON pr.name = s.province
              LEFT JOIN {CITY} ci ON ci.province_id = pr.id AND ci.name = s.city
              LEFT JOIN {COUNTY} co ON co.city_id = ci.id AND co.name = s.county
              WHERE s._ok) e
        WHERE col IS NOT NULL ORDER BY _row""", [new_counties])


def authorise_sites(stage: Stage) -> list[RowError]:
    """``imports.authorise_sites``: organisation data, the sites and hosts named, and a
    clerk's own city."""
    errors = _org_errors(stage)
    errors += stage.outside("site_code", Site)
    errors += stage.outside("host_site_code", Site, "site_code")
    city_id = write_city_id(stage.importer.user)
    if city_id is not None:
        own = City.objects.filter(pk=city_id).values_list("province__name", "name").first()
        errors += stage.errors(
            f"SELECT _row, 'city', %s || coalesce(city, 'None'), %s || coalesce(city, 'None') "
            f"FROM {stage.table} WHERE _ok AND (province, city) IS DISTINCT FROM (%s, %s) "
            "ORDER BY _row", [f"{OUTSIDE_ZH}：", f"{OUTSIDE_EN}: ", *(own or (None, None))])
    return errors


def site_status_rows(stage: Stage) -> list[RowError]:
    """``decommission.checks.site_status_rows``: an archive stays as it is."""
    return stage.errors(
        f"SELECT s._row, 'status', "
        f"CASE WHEN x.id IS NOT NULL THEN '站址 ' || s.site_code || "
        f"' 已归档，须在拆站页面填写原因后重新启用' ELSE '站址归档须通过拆站清单办理' END, "
        f"CASE WHEN x.id IS NOT NULL THEN 'site ' || s.site_code || ' is archived: reopen it "
        f"on its decommissioning page, with a reason' ELSE 'a site is archived through its "
        f"decommissioning checklist' END "
        f"FROM {stage.table} s LEFT JOIN {SITE} x ON x.site_code = s.site_code AND x.status = %s "
        f"WHERE {stage.judged} AND (x.id IS NOT NULL) <> (s.status IS NOT DISTINCT FROM %s) "
        "ORDER BY s._row", [SiteStatus.ARCHIVED.value] * 2)


def check_sites(stage: Stage) -> list[RowError]:
    """``authorise_sites``, then on the rows inside the scope the guard and
    ``imports.check_sites`` (host sites known and acyclic, decommission dates)."""
    errors = authorise_sites(stage)
    stage.set_out(errors)
    if archive_guarded(stage):
        errors += site_status_rows(stage)
    t, judged = stage.table, stage.judged
    errors += stage.errors(
        f"SELECT _row, 'host_site_code', "
        f"CASE WHEN host_site_code = site_code THEN '宿主站不能是站址本身' "
        f"ELSE '宿主站 ' || host_site_code || ' 不存在' END, "
        f"CASE WHEN host_site_code = site_code THEN 'a site cannot be its own host' "
        f"ELSE 'unknown host site ' || host_site_code END FROM {t} s "
        f"WHERE {judged} AND host_site_code IS NOT NULL AND (host_site_code = site_code OR ("
        f"NOT EXISTS (SELECT 1 FROM {t} h WHERE h._ok AND NOT h._out "
        f"AND h.site_code = s.host_site_code) "
        f"AND NOT EXISTS (SELECT 1 FROM {SITE} x WHERE x.site_code = s.host_site_code))) "
        "ORDER BY _row")
    errors += stage.errors(
        f"SELECT _row, 'decommission_date', '已拆除站址须填写拆站日期', "
        f"'a decommissioned site needs its decommission_date' FROM {t} "
        f"WHERE {judged} AND status = %s AND decommission_date IS NULL ORDER BY _row",
        [SiteStatus.DECOMMISSIONED.value])
    errors += stage.errors(f"""
        WITH RECURSIVE e AS (
            SELECT site_code AS a, host_site_code AS b FROM {t}
            WHERE {judged} AND host_site_code IS NOT NULL
        ), walk(start, cur) AS (
            SELECT a, b FROM e
            UNION ALL
            SELECT w.start, e.b FROM walk w JOIN e ON e.a = w.cur WHERE w.cur <> w.start
        ) CYCLE cur SET looped USING path
        SELECT _row, 'host_site_code', '宿主站关系成环', 'host sites form a cycle' FROM {t}
        WHERE {judged} AND site_code IN (SELECT start FROM walk WHERE cur = start)
        ORDER BY _row""")
    errors += stage.errors(
        f"SELECT _row, 'status', '填写了拆站日期，站址状态应为 DECOMMISSIONED', "
        f"'decommission_date given but status is not DECOMMISSIONED' FROM {t} "
        f"WHERE {judged} AND decommission_date IS NOT NULL "
        f"AND (status IS NULL OR status NOT IN (%s, %s)) ORDER BY _row",
        [SiteStatus.DECOMMISSIONED.value, SiteStatus.ARCHIVED.value])
    return errors


def _org_counties(stage: Stage) -> str:
    """``imports._org_counties``: the provinces, cities and counties the file names are
    created; returns a temporary table of the file's (province, city, county) with the
    county's id, for the rows to be joined to once."""
    t, cur = stage.table, stage.cursor
    orgs = f"{t}_orgs"
    cur.execute(f"CREATE TEMP TABLE {orgs} ON COMMIT DROP AS SELECT DISTINCT province, city, "
                f"county, NULL::bigint AS county_id FROM {t} WHERE _ok")
    cur.execute(f"INSERT INTO {PROVINCE} (name) SELECT DISTINCT province FROM {orgs} "
                "ON CONFLICT DO NOTHING")
    cur.execute(f"INSERT INTO {CITY} (province_id, name) SELECT DISTINCT p.id, o.city "
                f"FROM {orgs} o JOIN {PROVINCE} p ON p.name = o.province ON CONFLICT DO NOTHING")
    cur.execute(f"INSERT INTO {COUNTY} (city_id, name) SELECT DISTINCT c.id, o.county "
                f"FROM {orgs} o JOIN {PROVINCE} p ON p.name = o.province "
                f"JOIN {CITY} c ON c.province_id = p.id AND c.name = o.city "
                "ON CONFLICT DO NOTHING")
    cur.execute(f"UPDATE {orgs} o SET county_id = co.id FROM {PROVINCE} p, {CITY} ci, {COUNTY} co "
                "WHERE p.name = o.province AND ci.province_id = p.id AND ci.name = o.city "
                "AND co.city_id = ci.id AND co.name = o.county")
    return orgs


SITE_FIELDS = ("site_name", "county_id", "site_type", "status", "decommission_date",
               "host_site_id", "longitude", "latitude")


MAX_LAYERS = 10_000


def store_sites(stage: Stage):
    """``imports.store_sites``: upsert in layers, a host site before the sites hanging off
    it (a site's layer: how many of its hosts up the chain the file holds)."""
    from towerledger.db.bulk import Counts

    t, cur = stage.table, stage.cursor
    orgs = _org_counties(stage)
    rows = f"{t}_rows"
    # each good row with its county and its layer
    cur.execute(f"""
        CREATE TEMP TABLE {rows} ON COMMIT DROP AS
        SELECT s._row, s.site_code, s.site_name, o.county_id, s.site_type,
               coalesce(s.status, %s) AS status, s.decommission_date, s.host_site_code,
               s.longitude, s.latitude, 0 AS layer
        FROM {t} s JOIN {orgs} o USING (province, city, county)
        WHERE s._ok""", [SiteStatus.ACTIVE.value])
    layers = 0
    while True:   # the rows hanging off a row of the layer before go one layer up
        cur.execute(f"UPDATE {rows} SET layer = %s WHERE host_site_code IN "
                    f"(SELECT site_code FROM {rows} WHERE layer = %s)", [layers + 1, layers])
        if not cur.rowcount:
            break
        layers += 1
        if layers > MAX_LAYERS:   # (the check refuses cycles: never reached)
            raise RuntimeError("host sites nested deeper than MAX_LAYERS")
    counts = Counts()
    for layer in range(layers + 1):
        source = (f"SELECT s._row, s.site_code, s.site_name, s.county_id, s.site_type, "
                  f"s.status, s.decommission_date, h.id AS host_site_id, s.longitude, "
                  f"s.latitude FROM {rows} s LEFT JOIN {SITE} h "
                  f"ON h.site_code = s.host_site_code WHERE s.layer = %s")
        counts += upsert(stage, Site, source, ("site_code",), SITE_FIELDS, [layer])
    cur.execute(f"DROP TABLE {rows}, {orgs}")
    return counts


SITES = Staged(check=check_sites, store=store_sites)
