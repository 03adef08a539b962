"""The bill import (缴费录入) on the staged path (PostgreSQL, exchange.staged): ``bills.imports``'
check, its authorise (by account) and its store as set-based SQL over the staging table, with
the same messages, counts, stored bills, flags, payments and journal entries.

The check is one scan of the file's rows (each rule a branch of a ``LATERAL VALUES``), the
payment references one join. The store works out every row's account, derived kWh, matching
stored bill, next ``dup_seq`` and invoice type (the account's dated supply terms on the bill's
day) in one statement into a work table, then goes part by part of the file — the Python
path's parts (``services.CHUNK_ROWS`` rows of the file) in their order: the part's new bills
by INSERT … SELECT (ids ascending in row order, as ``copy_insert``), then ``audit.audit_bills``
and ``payments.pay_from_file`` with the part's ids and minimal rows, as ``store_bills`` does.
Python holds one part at a time, never the file.
"""

from datetime import timedelta

from django.db import connection, reset_queries
from django.utils import timezone

from towerledger.bills import audit, imports, payments
from towerledger.bills.models import Bill
from towerledger.db.bulk import NEXT_ID, Counts
from towerledger.exchange import staged as staging
from towerledger.exchange.staged import Stage, Staged
from towerledger.importers.schema import FIRST_DATA_ROW, RowError
from towerledger.sites.models import SupplyAccount, SupplyTerms

BILL = Bill._meta.db_table
ACCOUNT = SupplyAccount._meta.db_table
TERMS = SupplyTerms._meta.db_table


def _part() -> int:
    """Rows of the file per part: the Python path's (``services.CHUNK_ROWS``), as the
    staged ``_partial`` counts them (read when used: tests make parts small)."""
    return staging.PARTIAL_PART


def _day(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM-DD')"


# (止度 − 起度) × 倍率 + 损耗, or across a meter change, as ``imports._derived_kwh`` (a
# multiplier of 0 is "none given" there: ``r["multiplier"] or account.multiplier``)
DERIVED_KWH = """CASE WHEN s.kwh IS NOT NULL OR s.end_reading IS NULL THEN s.kwh ELSE
    (CASE WHEN s.meter_changed AND s.old_meter_end_reading IS NOT NULL
               AND s.new_meter_start_reading IS NOT NULL
          THEN (s.old_meter_end_reading - s.start_reading)
               + (s.end_reading - s.new_meter_start_reading)
          ELSE s.end_reading - s.start_reading END)
    * coalesce(nullif(s.multiplier, 0), a.multiplier) + coalesce(s.loss_kwh, 0) END"""


# ---- the check -------------------------------------------------------------------------

def check_bills(stage: Stage) -> list[RowError]:
    """``imports.authorise_by_account``, then ``imports.check_bills`` on the rows inside the
    user's scope."""
    errors = stage.outside("account_no", SupplyAccount) + stage.outside("payment_ref", Bill)
    stage.set_out(errors)
    errors += _row_rules(stage) + _payment_refs(stage)
    broken = _unjudgeable_parts(stage)
    if broken:
        part = _part()
        errors = [e for e in errors if (e.row - FIRST_DATA_ROW) // part not in broken]
    return errors


# ``imports._check_bill_row``'s rules: (the row breaks it, its column, zh, en) as SQL over
# ``s`` (the judged row with its account's ``acc``, ``lump_sum`` and ``derived`` kWh)
_END, _START, _PAID = _day("s.period_end"), _day("s.period_start"), _day("s.paid_date")
_DAYS = "(s.period_end - s.period_start + 1)"
RULES = (
    ("s.acc IS NULL", "'account_no'",
     "'电表户号 ' || s.account_no || ' 不存在（请先导入电表户号）'",
     "'unknown account_no ' || s.account_no || ' (import accounts first)'"),
    ("s.period_end < s.period_start", "'period_end'",
     f"'截止日期 ' || {_END} || ' 早于起始日期 ' || {_START}",
     f"'period_end ' || {_END} || ' is before period_start ' || {_START}"),
    (f"s.period_end >= s.period_start AND {_DAYS} > %(max_days)s", "'period_end'",
     f"'计费周期 ' || {_DAYS} || ' 天，超过 ' || %(max_days)s || ' 天'",
     f"'period of ' || {_DAYS} || ' days is longer than ' || %(max_days)s"),
    ("s.period_start < %(earliest)s OR s.period_start > %(latest)s", "'period_start'",
     f"'起始日期 ' || {_START} || ' 不合理'",
     f"'period_start ' || {_START} || ' is not a plausible date'"),
    ("s.paid_date > %(today)s", "'paid_date'", f"'支付日期 ' || {_PAID} || ' 晚于今天'",
     f"'paid_date ' || {_PAID} || ' is in the future'"),
    ("coalesce(s.payment_ref, '') <> '' AND s.paid_date IS NULL", "'paid_date'",
     "'填写了支付流水号，须填写支付日期'", "'payment_ref given without paid_date'"),
    ("(s.start_reading IS NULL) <> (s.end_reading IS NULL)",
     "CASE WHEN s.end_reading IS NULL THEN 'end_reading' ELSE 'start_reading' END",
     "'起度和止度须同时填写'", "'start_reading and end_reading go together'"),
    ("(s.old_meter_end_reading IS NULL) <> (s.new_meter_start_reading IS NULL)",
     "CASE WHEN s.old_meter_end_reading IS NULL THEN 'old_meter_end_reading' "
     "ELSE 'new_meter_start_reading' END", "'旧表止码和新表起码须同时填写'",
     "'old_meter_end_reading and new_meter_start_reading go together'"),
    ("s.old_meter_end_reading IS NOT NULL AND s.new_meter_start_reading IS NOT NULL "
     "AND NOT coalesce(s.meter_changed, false)", "'meter_changed'",
     "'填写了旧表止码和新表起码，是否换表须为“是”'",
     "'meter change readings given: meter_changed must be 是 (yes)'"),
    ("s.acc IS NOT NULL AND NOT s.lump_sum AND s.kwh IS NULL AND s.end_reading IS NULL",
     "'kwh'", "'非包干电表须填写用电量或起止度'",
     "'kWh (or the readings) required unless the account is lump-sum'"),
    ("s.amount = 0 AND coalesce(s.kwh, 0) <> 0", "'amount'", "'有用电量但金额为 0'",
     "'amount is 0 but kWh is not'"),
    ("s.acc IS NOT NULL AND s.kwh IS NULL AND s.end_reading IS NOT NULL "
     "AND s.start_reading IS NOT NULL AND abs(s.derived) > %(kwh_max)s", "'end_reading'",
     "'由起止度算出的用电量超出范围'",
     "'the kWh the readings give is out of range (at most ' || %(kwh_max_text)s || ')'"),
)


def _row_rules(stage: Stage) -> list[RowError]:
    """``imports._check_bill_row`` for every judged row, in one scan: each row is tested
    against every rule, and the messages are made for the rules it breaks only."""
    today = timezone.localdate()

    def case(i):
        return "CASE r.n " + " ".join(f"WHEN {n} THEN {rule[i]}"
                                      for n, rule in enumerate(RULES)) + " END"

    tests = ", ".join(f"({cond}, {n})" for n, (cond, *_) in enumerate(RULES))
    return stage.errors(f"""
        SELECT s._row, {case(1)}, {case(2)}, {case(3)} FROM (
            SELECT s.*, a.id AS acc, a.lump_sum, {DERIVED_KWH} AS derived
            FROM {stage.table} s LEFT JOIN {ACCOUNT} a ON a.account_no = s.account_no
            WHERE {stage.judged}) s
        CROSS JOIN LATERAL (VALUES {tests}) AS r(bad, n)
        WHERE r.bad ORDER BY s._row, r.n""", {
        "max_days": imports.MAX_PERIOD_DAYS, "earliest": imports.EARLIEST,
        "latest": today + timedelta(days=62), "today": today,
        "kwh_max": imports.KWH_MAX, "kwh_max_text": str(imports.KWH_MAX)})


def _payment_refs(stage: Stage) -> list[RowError]:
    """``imports._check_payment_refs``: a reference already paying another stored bill."""
    return stage.errors(
        f"SELECT s._row, 'payment_ref', "
        f"'支付流水号 ' || s.payment_ref || ' 已用于缴费单 ' || a.account_no || '/' || b.bill_no, "
        f"'payment_ref ' || s.payment_ref || ' already paid bill ' || a.account_no || '/' "
        f"|| b.bill_no FROM {stage.table} s "
        f"JOIN {BILL} b ON b.payment_ref = s.payment_ref AND b.payment_ref <> '' "
        f"JOIN {ACCOUNT} a ON a.id = b.account_id "
        f"WHERE {stage.judged} AND (a.account_no, b.bill_no) <> (s.account_no, s.bill_no) "
        "ORDER BY s._row")


def _unjudgeable_parts(stage: Stage) -> set[int]:
    """The parts of the file (the Python path's) where a judged row lacks a period date —
    only a row with a bad cell, judged beside the good ones by the staged ``_partial``. The
    Python check fails on such a row (``end < start`` of a None), and ``_check_partial``
    then adds nothing for that part: its errors here are dropped alike."""
    cur = stage.execute(
        f"SELECT DISTINCT (_row - %s) / %s FROM {stage.table} WHERE {stage.judged} AND _bad "
        "AND (period_start IS NULL OR period_end IS NULL)", [FIRST_DATA_ROW, _part()])
    return {r[0] for r in cur.fetchall()}


# ---- the store -------------------------------------------------------------------------

def store_bills(stage: Stage) -> Counts:
    """``imports.store_bills`` over the file's good rows, part by part (see the module)."""
    from towerledger.bills.kinds import bills_outcome
    from towerledger.exchange.services import _merge_outcome

    work = f"{stage.table}_bills"
    _plan(stage, work)
    counts, outcome = Counts(), None
    cur = stage.execute(f"SELECT DISTINCT part FROM {work} ORDER BY part")
    for (part,) in cur.fetchall():
        # a part's queries carry its 25,000 ids as text: under DEBUG (development, the
        # bench) Django's query log (9,000 entries) would keep every part's, megabytes each
        reset_queries()
        counts += _store_part(stage, work, part)
        keys = stage.execute(f"SELECT account_no, bill_no FROM {work} WHERE part = %s "
                             "ORDER BY _row", [part]).fetchall()
        outcome = _merge_outcome(outcome, bills_outcome(
            [{"account_no": a, "bill_no": b} for a, b in keys]))
    stage.outcome = outcome
    stage.execute(f"DROP TABLE {work}")
    return counts


def _plan(stage: Stage, work: str) -> None:
    """Each good row's account, derived kWh, matching stored bill (``_same_content``: the
    first in the bills' own order), next ``dup_seq`` and, for a new bill without one, the
    invoice type of its account's terms on the bill's day (``sites.terms``: the latest dated
    row on or before it, else the original row, else the account's own fields)."""
    stage.execute(f"""
        CREATE TEMP TABLE {work} ON COMMIT DROP AS
        SELECT s._row, (s._row - %s) / %s AS part, a.id AS account_id, s.account_no,
               s.bill_no, s.period_start, s.period_end, s.start_reading, s.end_reading,
               s.multiplier, s.loss_kwh, {DERIVED_KWH} AS kwh, s.unit_price, s.amount,
               s.input_tax, s.invoice_type, coalesce(s.meter_changed, false) AS meter_changed,
               s.old_meter_end_reading, s.new_meter_start_reading, s.paid_date,
               coalesce(s.payment_ref, '') AS payment_ref,
               m.id AS match_id, m.status AS match_status,
               coalesce(d.top + 1, 0) AS dup_seq,
               NULL::bigint AS bill_id, NULL::text AS ref, false AS paid_now
        FROM {stage.table} s JOIN {ACCOUNT} a ON a.account_no = s.account_no
        LEFT JOIN LATERAL (
            SELECT b.id, b.status FROM {BILL} b
            WHERE b.account_id = a.id AND b.bill_no = s.bill_no
              AND b.period_start = s.period_start AND b.period_end = s.period_end
              AND b.amount = s.amount AND b.kwh IS NOT DISTINCT FROM ({DERIVED_KWH})
            ORDER BY b.period_start DESC, b.bill_no, b.id LIMIT 1) m ON true
        LEFT JOIN LATERAL (
            SELECT max(b.dup_seq) AS top FROM {BILL} b
            WHERE b.account_id = a.id AND b.bill_no = s.bill_no) d ON true
        WHERE s._ok""", [FIRST_DATA_ROW, _part()])
    stage.execute(f"""
        UPDATE {work} w SET invoice_type = coalesce(
            (SELECT t.input_invoice_type FROM {TERMS} t WHERE t.account_id = w.account_id
               AND t.effective_from <= w.period_end ORDER BY t.effective_from DESC LIMIT 1),
            (SELECT t.input_invoice_type FROM {TERMS} t WHERE t.account_id = w.account_id
               AND t.effective_from IS NULL LIMIT 1),
            (SELECT a.input_invoice_type FROM {ACCOUNT} a WHERE a.id = w.account_id))
        WHERE w.match_id IS NULL AND coalesce(w.invoice_type, '') = ''""")
    stage.execute(f"CREATE INDEX ON {work} (part, _row)")
    stage.execute("SET LOCAL default_statistics_target = 10")   # (as exchange.staged.run)
    stage.execute(f"ANALYZE {work}")
    stage.execute("SET LOCAL default_statistics_target TO DEFAULT")


# the columns a new bill takes from the work table; the others take their defaults
FROM_WORK = ("account_id", "bill_no", "dup_seq", "period_start", "period_end", "start_reading",
             "end_reading", "multiplier", "loss_kwh", "kwh", "unit_price", "amount",
             "input_tax", "invoice_type", "meter_changed", "old_meter_end_reading",
             "new_meter_start_reading")


def _store_part(stage: Stage, work: str, part: int) -> Counts:
    """One part: its new bills written (paid at once where ``payments.paid_at_insert`` would),
    audited, and the file's payments made, as ``imports.store_bills``."""
    _paid_at_insert(stage, work, part)
    created = _insert(stage, work, part)
    ids = [r[0] for r in stage.execute(
        f"SELECT bill_id FROM {work} WHERE part = %s AND match_id IS NULL ORDER BY _row",
        [part]).fetchall()]
    audit.audit_bills(ids)
    to_pay, inserted = [], []
    for (pk, now, paid_date, file_ref, ref, account_id, account_no, bill_no, dup_seq,
         amount) in stage.execute(
            f"SELECT coalesce(bill_id, match_id), paid_now, paid_date, "
            f"payment_ref, ref, account_id, account_no, bill_no, dup_seq, amount FROM {work} "
            f"WHERE part = %s AND paid_date IS NOT NULL "
            f"AND (match_id IS NULL OR match_status = %s) "
            f"ORDER BY match_id IS NULL, _row", [part, Bill.Status.UNPAID]).fetchall():
        if now:
            inserted.append(({"pk": pk, "account_id": account_id,
                              "account__account_no": account_no, "bill_no": bill_no,
                              "dup_seq": dup_seq, "amount": amount,
                              "status": Bill.Status.UNPAID}, paid_date, ref))
        else:
            to_pay.append((pk, {"paid_date": paid_date, "payment_ref": file_ref}))
    payments.pay_from_file(to_pay, stage.importer.user, inserted)
    (unchanged,) = stage.execute(f"SELECT count(*) FROM {work} WHERE part = %s AND match_id "
                                 "IS NOT NULL", [part]).fetchone()
    return Counts(created=created, unchanged=unchanged)


def _paid_at_insert(stage: Stage, work: str, part: int) -> None:
    """``payments.paid_at_insert``: a new bill the file says is paid goes in paid when its
    reference (the file's, or ``payments.default_ref``) no stored bill holds and no other new
    bill of the part would take."""
    stage.execute(f"""
        UPDATE {work} w SET ref = r.ref, paid_now = r.n = 1 AND NOT EXISTS (
            SELECT 1 FROM {BILL} b WHERE b.payment_ref = r.ref AND b.payment_ref <> '')
        FROM (SELECT _row, ref, count(*) OVER (PARTITION BY ref) AS n FROM (
                SELECT _row, coalesce(nullif(payment_ref, ''), left(account_no || '/' || bill_no
                    || CASE WHEN dup_seq > 0 THEN '#' || dup_seq ELSE '' END, 60)) AS ref
                FROM {work} WHERE part = %s AND match_id IS NULL AND paid_date IS NOT NULL) x
             ) r
        WHERE w.part = %s AND w._row = r._row""", [part, part])


def _insert(stage: Stage, work: str, part: int) -> int:
    """The part's new bills, their ids from the sequence ascending in row order (as
    ``copy_insert``), noted in the work table."""
    meta = Bill._meta
    qn = connection.ops.quote_name
    paid = {"status": f"CASE WHEN paid_now THEN '{Bill.Status.PAID.value}' ELSE "
                      f"'{Bill.Status.UNPAID.value}' END",
            "paid_date": "CASE WHEN paid_now THEN paid_date END",
            "payment_ref": "CASE WHEN paid_now THEN ref ELSE '' END"}
    columns, values, params = [qn(meta.pk.column)], [NEXT_ID], \
        [meta.db_table, meta.pk.column]
    for f in meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(qn(f.column))
        if f.attname in FROM_WORK:
            values.append(f.attname)
        elif f.attname in paid:
            values.append(paid[f.attname])
        else:   # as copy_insert: auto_now(_add) is now, the rest their defaults
            auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            values.append("%s")
            params.append(timezone.now() if auto else f.get_db_prep_save(f.get_default(),
                                                                          connection))
    # (the ordered subquery is not flattened: its rows reach nextval in row order)
    cur = stage.execute(
        f"WITH ins AS (INSERT INTO {qn(meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM (SELECT * FROM {work} WHERE part = %s "
        f"AND match_id IS NULL ORDER BY _row) w RETURNING id, account_id, bill_no, dup_seq) "
        f"UPDATE {work} w SET bill_id = ins.id FROM ins WHERE w.part = %s "
        f"AND w.match_id IS NULL AND w.account_id = ins.account_id "
        f"AND w.bill_no = ins.bill_no AND w.dup_seq = ins.dup_seq", [*params, part, part])
    return cur.rowcount


BILLS = Staged(check=check_bills, store=store_bills)
