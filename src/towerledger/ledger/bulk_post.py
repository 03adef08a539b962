"""Post many two-line entries (Dr one account at a site, Cr another, the same amount) in one
statement on PostgreSQL: the entries and their lines by one ``INSERT … SELECT`` from array
parameters (a data-modifying WITH), without a Python object or a text row per line.

The rules are ``ledger.services.post_entries``'s: every entry balanced, amounts
non-negative fen (by construction here, and checked), an entry whose kind and reference are
posted already is skipped with its lines, so a retry posts nothing twice; an entry dated in
a closed month lands on the first open day. Elsewhere (SQLite), and for input ``post_entries`` would refuse (a
reference twice, a bad amount), it is ``post_entries`` itself.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from towerledger.db.bulk import NEXT_IDS, OneOf, postgres
from towerledger.domain.journal import Posting
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.ledger.services import open_period_start, post_entries

FEN = Decimal("0.01")


def post_pairs(kind: str, debit_account: str, credit_account: str,
               rows: Sequence[tuple[date, str, str, Decimal, str, int]], user=None) -> None:
    """Post ``(date, reference, memo, amount, site code, site pk)`` as entries of ``kind``:
    Dr ``debit_account`` at the site, Cr ``credit_account``, both ``amount``."""
    if not rows:
        return
    refs = {r[1] for r in rows}
    plain = len(refs) == len(rows) and all(
        r[3] >= 0 and r[3] == r[3].quantize(FEN) for r in rows)
    if not postgres() or not plain:
        post_entries([(d, kind, ref, memo, [Posting(debit_account, debit=amount, site=code),
                                             Posting(credit_account, credit=amount)])
                      for d, ref, memo, amount, code, _ in rows], user,
                     site_ids={code: pk for *_, code, pk in rows})
        return
    done = set(JournalEntry.objects.filter(OneOf("reference", refs), kind=kind)
               .values_list("reference", flat=True))
    rows = [r for r in rows if r[1] not in done]
    if not rows:
        return
    opened = open_period_start()
    dates = [d if opened is None or d >= opened else opened for d, *_ in rows]
    e, line = JournalEntry._meta.db_table, JournalLine._meta.db_table
    # the entries' keys are taken first, so each line names its entry without a join (a
    # join of two unnested arrays has no statistics and may be planned as a nested loop)
    sql = f"""
        WITH x AS (
            SELECT * FROM unnest(%s::bigint[], %s::date[], %s::text[], %s::text[],
                                 %s::numeric[], %s::bigint[]) AS x(id, day, ref, memo,
                                                                   amount, site)
        ), e AS (
            INSERT INTO {e} (id, date, kind, reference, memo, created_at, created_by_id)
            SELECT id, day, %s, ref, memo, %s, %s FROM x
        )
        INSERT INTO {line} (entry_id, account, site_id, operator_id, debit, credit)
        SELECT x.id, v.account, v.site, NULL, v.debit, v.credit
        FROM x CROSS JOIN LATERAL (VALUES (1, %s, x.site, x.amount, 0::numeric),
                                          (2, %s, NULL::bigint, 0::numeric, x.amount))
            AS v(n, account, site, debit, credit)
        ORDER BY x.id, v.n"""
    with connection.cursor() as cur:
        cur.execute(NEXT_IDS, [e, "id", len(rows)])
        ids = sorted(r[0] for r in cur.fetchall())
        cur.execute(sql, [ids, dates, [r[1] for r in rows], [r[2][:200] for r in rows],
                          [r[3] for r in rows], [r[5] for r in rows], kind, timezone.now(),
                          getattr(user, "pk", None), debit_account, credit_account])
