"""The receipts import on PostgreSQL's staged path (exchange.staged): ``collection.kinds``'
authorise, check, store and outcome as set-based SQL over the staging table, with the same
messages, counts, stored receipts, postings and outcome. SQLite keeps the Python path.

The store inserts the new receipts in row order (ids ascending, as ``copy_insert``), then
posts and matches them with the Python path's own set-wise services
(``post_new_receipts``, ``auto_match``); the outcome is read in one query."""

from django.conf import settings
from django.utils import timezone

from towerledger.access.scope import OUTSIDE_EN, OUTSIDE_ZH, write_city_id
from towerledger.collection import services
from towerledger.collection.models import Receipt
from towerledger.db.bulk import Counts
from towerledger.exchange.staged import Stage, Staged
from towerledger.importers.schema import RowError
from towerledger.org.models import City, Operator
from towerledger.settlement.models import Application

RECEIPT, CITY, OPERATOR = (m._meta.db_table for m in (Receipt, City, Operator))
APPLICATION = Application._meta.db_table

# each city name once, as the Python path's {name: pk} of every city (ordered by name;
# two cities of one name in two provinces: the latest)
CITIES = f"(SELECT name, max(id) AS id FROM {CITY} GROUP BY name)"


def authorise(stage: Stage) -> list[RowError]:
    """``kinds.authorise_receipts``: a clerk's receipts name their city, and a receipt
    number already stored for another city is not theirs."""
    city_id = write_city_id(stage.importer.user)
    if city_id is None:
        return []
    own = City.objects.filter(pk=city_id).values_list("name", flat=True).first()
    errors = stage.errors(
        f"SELECT _row, 'city', %s || coalesce(city, '全省 province-wide'), "
        f"%s || coalesce(city, '全省 province-wide') FROM {stage.table} "
        "WHERE _ok AND city IS DISTINCT FROM %s ORDER BY _row",
        [f"{OUTSIDE_ZH}：", f"{OUTSIDE_EN}: ", own])
    return errors + stage.outside("receipt_no", Receipt)


def check(stage: Stage) -> list[RowError]:
    """``authorise``, then on the rows inside the scope ``kinds.check_receipts``: the city
    exists, the money arrived by today, a receipt number stored before holds the same."""
    errors = authorise(stage)
    stage.set_out(errors)
    t, judged = stage.table, stage.judged
    # a row without its received_date (a partial row, judged beside the good ones) fails
    # the Python check, which then says nothing (services._check_partial)
    stage.execute(f"SELECT EXISTS (SELECT 1 FROM {t} WHERE {judged} AND received_date IS NULL)")
    if stage.cursor.fetchone()[0]:
        return []
    day = "to_char(s.received_date, 'YYYY-MM-DD')"
    return errors + stage.errors(f"""
        SELECT s._row, e.col, e.zh, e.en
        FROM {t} s
        LEFT JOIN {CITIES} c ON c.name = s.city
        LEFT JOIN {RECEIPT} r ON r.receipt_no = s.receipt_no
        LEFT JOIN {OPERATOR} o ON o.id = r.operator_id
        LEFT JOIN {CITY} rc ON rc.id = r.city_id
        CROSS JOIN LATERAL (VALUES
            (1, 'city', s.city IS NOT NULL AND c.id IS NULL,
             '地市 ' || s.city || ' 不存在', 'unknown city ' || s.city),
            (2, 'received_date', s.received_date > %s,
             '到账日期 ' || {day} || ' 晚于今天', 'received_date ' || {day} || ' is in the future'),
            (3, 'receipt_no', r.id IS NOT NULL AND (o.code, rc.name, r.amount, r.received_date,
                                                    r.reference)
                 IS DISTINCT FROM (s.operator, s.city, s.amount, s.received_date,
                                   coalesce(s.reference, '')),
             '回款编号 ' || s.receipt_no || ' 已导入且内容不同',
             'receipt_no ' || s.receipt_no || ' was imported with other content')
        ) e(n, col, hit, zh, en)
        WHERE {judged} AND e.hit ORDER BY s._row, e.n""", [timezone.localdate()])


def store(stage: Stage) -> Counts:
    """``kinds.store_receipts``: the receipts not stored yet, posted (Dr CASH / Cr
    UNAPPLIED) and matched unless the deployment matches in its own run; a receipt number
    already stored is left as it is (the check found it the same)."""
    t, cur = stage.table, stage.cursor
    cur.execute(f"""
        INSERT INTO {RECEIPT} (receipt_no, operator_id, city_id, amount, received_date,
                               reference, applied, status, created_at)
        SELECT s.receipt_no, o.id, c.id, s.amount, s.received_date, coalesce(s.reference, ''),
               0, %s, %s
        FROM {t} s JOIN {OPERATOR} o ON o.code = s.operator
        LEFT JOIN {CITIES} c ON c.name = s.city
        WHERE s._ok AND NOT EXISTS (SELECT 1 FROM {RECEIPT} r WHERE r.receipt_no = s.receipt_no)
        ORDER BY s._row RETURNING id""", [Receipt.Status.UNMATCHED.value, timezone.now()])
    ids = sorted(r[0] for r in cur.fetchall())
    services.post_new_receipts(ids, stage.importer.user)
    if settings.TOWERLEDGER_MATCH_ON_IMPORT and ids:
        services.auto_match(ids, stage.importer.user)
    stage.outcome = outcome(stage)
    rows = stage.count()
    return Counts(created=len(ids), unchanged=rows - len(ids))


def outcome(stage: Stage) -> dict:
    """``kinds.receipts_outcome`` of the file's good rows: how each receipt was matched."""
    cur = stage.cursor
    cur.execute(f"""
        SELECT r.receipt_no, o.code, r.amount, r.applied, r.reference, r.status,
               (SELECT array_agg(DISTINCT a.rule COLLATE "C" ORDER BY a.rule COLLATE "C")
                FROM {APPLICATION} a WHERE a.receipt_id = r.id AND a.reversed_at IS NULL)
        FROM {stage.table} s JOIN {RECEIPT} r ON r.receipt_no = s.receipt_no
        JOIN {OPERATOR} o ON o.id = r.operator_id
        WHERE s._ok ORDER BY s._row""")
    rows, summary = [], {}
    for no, operator, amount, applied, reference, status, rules in cur.fetchall():
        how = rules or ["UNMATCHED"]
        for rule in how:
            summary[rule] = summary.get(rule, 0) + 1
        rows.append([no, operator, str(amount), str(applied), str(amount - applied),
                     "+".join(how), status, reference])
    return {"receipts": summary, "rows": rows}


RECEIPTS = Staged(check=check, store=store)
