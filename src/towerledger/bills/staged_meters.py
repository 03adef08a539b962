"""The sub-meter and smart-meter imports on the staged path (PostgreSQL, exchange.staged):
``bills.imports``' checks, authorise (by site) and stores as set-based SQL over the staging
table, with the same messages, counts and stored rows. A smart-meter month of a province
is millions of rows: this is what keeps it near the COPY floor."""

from towerledger.bills.models import MeterDay, SubmeterReading
from towerledger.exchange.staged import Stage, Staged, upsert
from towerledger.importers.schema import RowError
from towerledger.org.models import Operator
from towerledger.sites.models import Site

SITE = Site._meta.db_table
OPERATOR = Operator._meta.db_table


def _unknown_sites(stage: Stage) -> list[RowError]:
    """``imports._check_sites_known``: judged rows naming a site that does not exist."""
    return stage.errors(
        f"SELECT s._row, 'site_code', '站址编码 ' || s.site_code || ' 不存在', "
        f"'unknown site_code ' || s.site_code FROM {stage.table} s "
        f"WHERE {stage.judged} AND NOT EXISTS (SELECT 1 FROM {SITE} x "
        "WHERE x.site_code = s.site_code) ORDER BY s._row")


def _outside(stage: Stage) -> list[RowError]:
    """``imports.authorise_by_site``: rows naming a site the user may not write; the
    kind's own rules then leave them alone."""
    errors = stage.outside("site_code", Site)
    stage.set_out(errors)
    return errors


# ---- sub-meter readings ----------------------------------------------------------------

def check_submeter(stage: Stage) -> list[RowError]:
    errors = _outside(stage)
    errors += _unknown_sites(stage)
    errors += stage.errors(
        f"SELECT _row, 'period_end', '截止日期早于起始日期', 'period_end is before period_start' "
        f"FROM {stage.table} WHERE {stage.judged} AND period_end < period_start ORDER BY _row")
    return errors


def store_submeter(stage: Stage):
    source = (f"SELECT s._row, x.id AS site_id, o.id AS operator_id, s.period_start, "
              f"s.period_end, s.kwh FROM {stage.table} s "
              f"JOIN {SITE} x ON x.site_code = s.site_code "
              f"JOIN {OPERATOR} o ON o.code = s.operator WHERE s._ok")
    return upsert(stage, SubmeterReading, source,
                  ("site_id", "operator_id", "period_start", "period_end"), ("kwh",))


# ---- smart-meter days ------------------------------------------------------------------

def check_smartmeter(stage: Stage) -> list[RowError]:
    return _outside(stage) + _unknown_sites(stage)


def store_smartmeter(stage: Stage):
    source = (f"SELECT s._row, x.id AS site_id, s.date, s.kwh, s.dc_current_a, s.dc_voltage "
              f"FROM {stage.table} s JOIN {SITE} x ON x.site_code = s.site_code WHERE s._ok")
    return upsert(stage, MeterDay, source, ("site_id", "date"),
                  ("kwh", "dc_current_a", "dc_voltage"))


SUBMETER = Staged(check=check_submeter, store=store_submeter)
SMART_METER = Staged(check=check_smartmeter, store=store_smartmeter)
