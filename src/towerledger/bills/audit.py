"""Run the audit rules (稽核) of ``domain.audits`` over stored bills, set-wise.

For each bill this gathers plain facts — the account, the account's bills seen before this
one (lower id, not void), and what the fed sites should have used (rated power, DC load,
smart meter, vacancy) — calls the pure rules, and stores one Flag per finding with its
figures. Re-auditing keeps resolved and whitelisted flags, refreshes open ones and drops
open flags whose finding has gone (e.g. after master data was corrected). On PostgreSQL
the facts are gathered per bill in SQL (``_history_sql``, ``_loads_sql``); SQLite walks the
accounts' bills and the sites' tenancies in Python (``_history``, ``_loads``): the same
facts, and every rule still decides in ``domain.audit_rules``.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q

from towerledger.bills.models import AuditRuleSetting, Bill, Flag, MeterDay, Whitelist
from towerledger.db.bulk import OneOf, bulk_set, chunked, copy_insert, pg_array, postgres
from towerledger.domain import audits
from towerledger.sites import terms as supply_terms
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy

BILL, SPLIT, METER = Bill._meta.db_table, AccountSite._meta.db_table, MeterDay._meta.db_table
TENANCY, SITE = Tenancy._meta.db_table, Site._meta.db_table
BATCH = 5000  # bills per transaction and per round of fact queries (SQLite)
# PostgreSQL takes a whole import part (25,000 rows) in one round: each round's queries
# (accounts, history, loads, rules, terms) cost the same whatever its size, and lists go
# as one array parameter
PG_BATCH = 25_000

# Checks whose facts live in a higher layer (a program's contracts: market trading's
# discount, …) register here from their app's ready():
# ``check(bills: list[dict of BILL_FIELDS and "terms"], rules: {account_id: {code: RuleConfig}})
# -> {bill pk: [audits.Finding]}``; a check honours its rule's ``enabled`` and severity,
# and its code has a row in ``domain.audits._RULES`` so the audit-rules page configures it.
EXTRA_CHECKS: list[Callable[[list[dict], dict], dict]] = []
BILL_FIELDS = ("pk", "account_id", "bill_no", "period_start", "period_end", "amount", "kwh",
               "unit_price", "start_reading", "end_reading", "multiplier", "loss_kwh",
               "invoice_type", "meter_changed", "old_meter_end_reading",
               "new_meter_start_reading")


def audit_bills(bill_ids: Iterable[int], progress: Callable[[int], None] | None = None,
                book: supply_terms.Book | None = None, facts: str | None = None) -> int:
    """Audit the given bills; returns the number of open findings stored. ``book``: the
    dated supply terms of their accounts when the caller has them loaded already (a bill
    import does), so they are not read twice. ``facts``: how each bill's history and load
    facts are gathered — "sql" (PostgreSQL: per bill in SQL, see ``_loads_sql`` and
    ``_history_sql``) or "python" (the accounts' every bill and the fed sites' every
    tenancy walked in Python; SQLite's way); None: "sql" on PostgreSQL. Both give the
    rules the same facts (tests/integration/test_audit_facts.py)."""
    facts = facts or ("sql" if postgres() else "python")
    if facts not in ("sql", "python") or (facts == "sql" and not postgres()):
        raise ValueError(f"facts: {facts!r}")
    found = 0
    for part in chunked(sorted(set(bill_ids)), PG_BATCH if postgres() else BATCH):
        with transaction.atomic():
            found += _audit_batch(part, book, facts)
        if progress:
            progress(len(part))
    return found


def _audit_batch(pks, book=None, facts="python") -> int:
    bills = list(Bill.objects.filter(OneOf("pk", pks)).values(*BILL_FIELDS, "blocking",
                                                                "warnings"))
    account_ids = {b["account_id"] for b in bills}
    accounts = _account_facts(account_ids)
    if book is None or not account_ids <= book.histories.keys():
        book = supply_terms.load(account_ids)  # dated: each bill by its account's terms then
    for b in bills:
        b["terms"] = book.for_bill(b)
    rules = _rules_by_account(account_ids)
    if facts == "sql":
        earlier = _history_sql(bills, rules)
        loads = _loads_sql(bills)
    else:
        history = _history(account_ids)
        earlier = {b["pk"]: [h for h in history[b["account_id"]] if h.key < b["pk"]]
                   for b in bills}
        loads = _loads(bills)
    findings = {}
    dated = {}   # (account, supply mode, contract price) → the account's facts on those terms
    for b in bills:
        acc, terms = b["account_id"], b["terms"]
        key = (acc, terms.supply_mode, terms.contract_price)
        account = dated.get(key)
        if account is None:
            account = dated[key] = audits.made(audits.AccountFacts, {
                **accounts[acc].__dict__, "supply_mode": terms.supply_mode,
                "contract_price": terms.contract_price})
        findings[b["pk"]] = audits.audit_bill(bill_facts(b), account, earlier[b["pk"]],
                                              loads[b["pk"]], rules[acc])
    for check in EXTRA_CHECKS:
        for pk, extra in check(bills, rules).items():
            findings[pk] = [*findings.get(pk, []), *extra]
    open_flags = _store_flags(findings)
    _set_counters(bills, open_flags)
    return sum(len(f) for f in findings.values())


def bill_facts(b: dict) -> audits.BillFacts:
    return audits.made(audits.BillFacts, dict(
        key=b["pk"], bill_no=b["bill_no"], period_start=b["period_start"],
        period_end=b["period_end"], amount=b["amount"], kwh=b["kwh"],
        unit_price=b["unit_price"], start_reading=b["start_reading"],
        end_reading=b["end_reading"], multiplier=b["multiplier"], loss_kwh=b["loss_kwh"],
        invoice_type=b["invoice_type"] or "", meter_changed=b["meter_changed"],
        old_meter_end_reading=b["old_meter_end_reading"],
        new_meter_start_reading=b["new_meter_start_reading"]))


def _account_facts(account_ids) -> dict[int, audits.AccountFacts]:
    white = defaultdict(set)
    for acc, code in Whitelist.objects.filter(OneOf("account_id", account_ids)) \
            .values_list("account_id", "code"):
        white[acc].add(code)
    # supply mode and contract price are dated (sites.terms): set per bill by the caller
    none = frozenset()
    return {pk: audits.AccountFacts(
        account_no=no, supply_mode="", payment_cycle_months=cycle, price_cap=cap,
        multiplier=mult, lump_sum=lump, whitelisted=frozenset(white[pk]) if pk in white
        else none)
        for pk, no, cycle, cap, mult, lump in SupplyAccount.objects.filter(
            OneOf("pk", account_ids)).values_list(
            "pk", "account_no", "payment_cycle_months", "price_cap", "multiplier",
            "lump_sum").iterator(chunk_size=BATCH)}


def _history(account_ids) -> dict[int, list[audits.BillFacts]]:
    """account pk → its bills that are not void, in the bills' own order (latest period
    first, then by number; then by id, so that bills alike in both come in one order).
    Tuples, not dicts: this reads every bill of the accounts, several per bill audited."""
    history = defaultdict(list)
    qs = Bill.objects.filter(OneOf("account_id", account_ids)).exclude(
        status=Bill.Status.VOID).order_by(*Bill._meta.ordering, "pk")
    names, made, facts = audits.BILL_FACT_FIELDS, audits.made, audits.BillFacts
    for row in qs.values_list("account_id", "pk", *BILL_FIELDS[2:]).iterator(chunk_size=BATCH):
        values = dict(zip(names, row[1:], strict=True))
        values["invoice_type"] = values["invoice_type"] or ""
        history[row[0]].append(made(facts, values))
    return history


# ---- what the fed sites should have used ------------------------------------------------

def _loads(bills) -> dict[int, audits.LoadFacts]:
    account_ids = {b["account_id"] for b in bills}
    sites_of = defaultdict(list)
    for acc, site in AccountSite.objects.filter(OneOf("account_id", account_ids)) \
            .values_list("account_id", "site_id"):
        sites_of[acc].append(site)
    site_ids = {s for ss in sites_of.values() for s in ss}
    closed = dict(Site.objects.filter(OneOf("pk", site_ids), decommission_date__isnull=False)
                  .values_list("pk", "decommission_date"))
    # site → [(start, last day: its end or the site's decommissioning, rated W, DC A)]
    tenancies = defaultdict(list)
    for site, t_start, t_end, rated, dc in Tenancy.objects.filter(OneOf("site_id", site_ids)) \
            .values_list("site_id", "start_date", "end_date", "rated_power_w", "dc_current_a") \
            .iterator(chunk_size=BATCH):
        shut = closed.get(site)
        if shut is not None and (t_end is None or shut < t_end):
            t_end = shut
        tenancies[site].append((t_start, t_end, rated, dc))
    smart = _smart_meter(bills)
    return {b["pk"]: _load(b, sites_of[b["account_id"]], tenancies, smart.get(b["pk"]))
            for b in bills}


def _load(bill, sites, tenancies, smart) -> audits.LoadFacts:
    start, end = bill["period_start"], bill["period_end"]
    days = (end - start).days + 1
    recent = start - timedelta(days=31)
    rated = dc = Decimal(0)
    rated_known = dc_known = True
    vacant = 0
    new_tenancy = False
    for site in sites:
        spans = []
        for t_start, t_end, t_rated, t_dc in tenancies[site]:
            lo = t_start if t_start > start else start
            hi = end if t_end is None or t_end > end else t_end
            if hi < lo:
                continue
            n = (hi - lo).days + 1
            spans.append((lo, hi))
            if t_rated is None:
                rated_known = False
            else:
                rated += t_rated * n
            if t_dc is None:
                dc_known = False
            else:
                dc += t_dc * n
            new_tenancy |= recent <= t_start <= end
        vacant = max(vacant, days - _covered(spans))
    smart_kwh, smart_days = smart if smart else (None, 0)
    return audits.made(audits.LoadFacts, dict(
        rated_power_wd=rated if sites and rated_known else None,
        dc_current_ad=dc if sites and dc_known else None,
        smart_kwh=smart_kwh, smart_days=smart_days, no_tenant_days=vacant,
        new_tenancy_in_period=new_tenancy))


def _covered(spans) -> int:
    """Days covered by the union of inclusive date spans."""
    total, last = 0, None
    for lo, hi in sorted(spans):
        if last is not None and lo <= last:
            lo = last + timedelta(days=1)
        if hi >= lo:
            total += (hi - lo).days + 1
        last = hi if last is None else max(last, hi)
    return total


def _smart_meter(bills) -> dict[int, tuple[Decimal, int]]:
    """bill pk → (Σ smart-meter kWh over its period, days every fed site is covered)."""
    if not bills or not MeterDay.objects.exists():
        return {}
    b, s, m = Bill._meta.db_table, AccountSite._meta.db_table, MeterDay._meta.db_table
    out = {}
    sites = _site_counts({x["account_id"] for x in bills})
    account_of = {x["pk"]: x["account_id"] for x in bills}
    pg = postgres()
    for part in [[x["pk"] for x in bills]] if pg else chunked([x["pk"] for x in bills], 2000):
        marks = "= ANY(%s)" if pg else f"IN ({','.join(['%s'] * len(part))})"
        if pg:
            # Site by site through the (site, date) index, whatever the table statistics.
            sql = (f"SELECT x.id, x.site_id, agg.kwh, agg.n FROM (SELECT b.id, s.site_id, "
                   f"b.period_start, b.period_end FROM {b} b JOIN {s} s "
                   f"ON s.account_id = b.account_id WHERE b.id {marks}) x "
                   f"CROSS JOIN LATERAL (SELECT SUM(m.kwh) AS kwh, COUNT(*) AS n FROM {m} m "
                   f"WHERE m.site_id = x.site_id AND m.date BETWEEN x.period_start "
                   f"AND x.period_end) agg WHERE agg.n > 0")
        else:
            sql = (f"SELECT b.id, s.site_id, SUM(m.kwh), COUNT(*) FROM {b} b "
                   f"JOIN {s} s ON s.account_id = b.account_id "
                   f"JOIN {m} m ON m.site_id = s.site_id AND m.date BETWEEN b.period_start "
                   f"AND b.period_end WHERE b.id {marks} GROUP BY b.id, s.site_id")
        with connection.cursor() as cur:
            cur.execute(sql, [part] if pg else part)
            rows = cur.fetchall()
        per_bill = defaultdict(list)
        for bill, _, kwh, n in rows:
            per_bill[bill].append((Decimal(kwh), n))
        for bill, parts in per_bill.items():
            covered = min(n for _, n in parts) if len(parts) == sites[account_of[bill]] else 0
            out[bill] = (sum((k for k, _ in parts), Decimal(0)), covered)
    return out


def _site_counts(account_ids) -> dict[int, int]:
    return dict(AccountSite.objects.filter(OneOf("account_id", account_ids)).values("account_id")
                .annotate(n=Count("pk")).values_list("account_id", "n"))


# ---- the same facts in SQL (PostgreSQL) -------------------------------------------------
#
# ``_history`` reads every bill of the accounts and ``_loads`` every tenancy of the fed sites,
# and Python walks them for each bill. On PostgreSQL one statement each gives the rules the
# same facts per bill: of the account's earlier bills only those a rule can look at, and the
# load facts summed in SQL. SQL gathers facts here; every rule still decides in
# ``domain.audit_rules``.

def _history_sql(bills, rules) -> dict[int, list[audits.BillFacts]]:
    """bill pk → the account's bills before it (lower id, not void) that a rule of
    ``domain.audit_rules`` can look at, in ``_history``'s order — the same findings as the
    whole history: DUP_BILL_NO, DUP_CONTENT, OVERLAP and YOY take the first or every
    earlier bill that fits their test (the same number; the same period and amount; a period
    that overlaps; one that lies more than half inside the period a year before), so all
    bills that fit are here and the others change nothing; GAP also looks only at bills that
    start before the period and reach into it and, as MOM and ESTIMATED, at
    ``Context.previous(n)``: the ``n`` latest bills
    ended before the period starts (by end, start, then history order), here the ``limit``
    latest by that order — the most any rule set of the batch asks (ESTIMATED's
    bills_running − 1), all of them if one asks for a negative number."""
    if not bills:
        return {}
    asked = [int(r["ESTIMATED"].thresholds["bills_running"]) - 1
             for r in {id(r): r for r in rules.values()}.values()
             if "ESTIMATED" in r and "bills_running" in r["ESTIMATED"].thresholds]
    limit = None if any(n < 0 for n in asked) else max([1, *asked])
    columns = ", ".join("coalesce(h.invoice_type, '') AS invoice_type" if c == "invoice_type"
                        else f"h.{c}" for c in ("id", *BILL_FIELDS[2:]))
    # each bill joined to its account's earlier bills: ``latest`` numbers those ended before
    # the period starts in Context.previous's order (one sort of all pairs, not one per bill)
    sql = f"""
        SELECT xid, {", ".join(("id", *BILL_FIELDS[2:]))}
        FROM (
            SELECT x.id AS xid, {columns}, h.period_end < x.period_start AS ended,
                   row_number() OVER (PARTITION BY x.id, h.period_end < x.period_start
                       ORDER BY h.period_end DESC, h.period_start DESC, h.bill_no, h.id)
                       AS latest,
                   h.bill_no = x.bill_no
                   OR (h.period_start <= x.period_end AND h.period_end >= x.period_start)
                   OR (h.period_start < x.period_start AND h.period_end >= x.period_start)
                   OR (h.period_start = x.period_start AND h.period_end = x.period_end
                       AND h.amount = x.amount)
                   OR (h.kwh IS NOT NULL AND 2 * (least(h.period_end, x.period_end - 365)
                       - greatest(h.period_start, x.period_start - 365) + 1)
                       > h.period_end - h.period_start + 1) AS fits
            FROM {BILL} x JOIN {BILL} h ON h.account_id = x.account_id AND h.id < x.id
                                      AND h.status <> %(void)s
            WHERE x.id = ANY(%(ids)s)) h
        WHERE h.fits OR h.ended {"" if limit is None else f"AND h.latest <= {limit}"}
        ORDER BY xid, period_start DESC, bill_no, id"""
    array, param = pg_array([b["pk"] for b in bills])
    with connection.cursor() as cur:
        cur.execute(sql.replace("%(ids)s", array.replace("%s", "%(ids)s")),
                    {"ids": param, "void": Bill.Status.VOID})
        rows = cur.fetchall()
    out = {b["pk"]: [] for b in bills}
    seen = {}
    # as audits.made, its check aside: the row holds every field of BillFacts in order
    names, new, facts = audits.BILL_FACT_FIELDS, object.__new__, audits.BillFacts
    last = len(names) + 1
    for row in rows:
        h = seen.get(row[1])
        if h is None:
            h = seen[row[1]] = new(facts)
            h.__dict__.update(zip(names, row[1:last], strict=True))
        out[row[0]].append(h)
    return out


def _loads_sql(bills) -> dict[int, audits.LoadFacts]:
    """``_loads`` in one statement: per bill and fed site, the tenancies' spans inside the
    period (a tenancy lasts to its end or the site's decommissioning, whichever is first),
    their rated W·days and DC A·days, whether one started in the period or the 31 days
    before, and the days their union covers (``_covered``: each span counted from the day
    after the latest end of the spans sorted before it); then per bill the sums, the most
    vacant fed site, and the smart meter as ``_smart_meter`` (Σ kWh of the fed sites with
    days in the period; their fewest days when every fed site has some, else 0)."""
    if not bills:
        return {}
    meter = (f"LEFT JOIN LATERAL (SELECT SUM(m.kwh) AS kwh, COUNT(*) AS n FROM {METER} m "
             "WHERE m.site_id = xs.site_id AND m.date BETWEEN xs.s AND xs.e) sm ON true"
             if MeterDay.objects.exists() else "CROSS JOIN (SELECT NULL::numeric AS kwh, "
             "0 AS n) sm")
    sql = f"""
        WITH xs AS MATERIALIZED (
            SELECT b.id, b.period_start AS s, b.period_end AS e, a.site_id
            FROM {BILL} b JOIN {SPLIT} a ON a.account_id = b.account_id
            WHERE b.id = ANY(%(ids)s)),
        sp AS (
            SELECT xs.id, xs.site_id, t.rated_power_w AS rated, t.dc_current_a AS dc,
                   greatest(t.start_date, xs.s) AS lo,
                   least(t.end_date, st.decommission_date, xs.e) AS hi,
                   t.start_date BETWEEN xs.s - 31 AND xs.e AS new
            FROM xs JOIN {TENANCY} t ON t.site_id = xs.site_id
            JOIN {SITE} st ON st.id = xs.site_id
            WHERE least(t.end_date, st.decommission_date, xs.e)
                  >= greatest(t.start_date, xs.s)),
        ps AS (
            SELECT id, site_id, sum(rated * (hi - lo + 1)) AS rated,
                   bool_and(rated IS NOT NULL) AS rated_known,
                   sum(dc * (hi - lo + 1)) AS dc, bool_and(dc IS NOT NULL) AS dc_known,
                   bool_or(new) AS new,
                   sum(greatest(0, hi - greatest(lo, covered_to + 1) + 1)) AS covered
            FROM (SELECT sp.*, max(hi) OVER (PARTITION BY id, site_id ORDER BY lo, hi
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
                  FROM sp) z
            GROUP BY id, site_id)
        SELECT xs.id, coalesce(sum(ps.rated), 0), bool_and(coalesce(ps.rated_known, true)),
               coalesce(sum(ps.dc), 0), bool_and(coalesce(ps.dc_known, true)),
               coalesce(bool_or(ps.new), false),
               greatest(0, max(xs.e - xs.s + 1 - coalesce(ps.covered, 0))),
               sum(sm.kwh) FILTER (WHERE sm.n > 0), count(*),
               count(*) FILTER (WHERE sm.n > 0), min(sm.n) FILTER (WHERE sm.n > 0)
        FROM xs LEFT JOIN ps ON ps.id = xs.id AND ps.site_id = xs.site_id
        {meter}
        GROUP BY xs.id"""
    array, param = pg_array([b["pk"] for b in bills])
    with connection.cursor() as cur:
        cur.execute(sql.replace("%(ids)s", array.replace("%s", "%(ids)s")), {"ids": param})
        rows = cur.fetchall()
    none = audits.made(audits.LoadFacts, dict(
        rated_power_wd=None, dc_current_ad=None, smart_kwh=None, smart_days=0,
        no_tenant_days=0, new_tenancy_in_period=False))   # an account that feeds no site
    out = dict.fromkeys((b["pk"] for b in bills), none)
    made, load = audits.made, audits.LoadFacts
    for pk, rated, rated_known, dc, dc_known, new, vacant, smart, sites, metered, days in rows:
        out[pk] = made(load, dict(
            rated_power_wd=rated if rated_known else None,
            dc_current_ad=dc if dc_known else None,
            smart_kwh=smart if metered else None,
            smart_days=days if metered and metered == sites else 0,
            no_tenant_days=vacant, new_tenancy_in_period=new))
    return out


# ---- configuration ----------------------------------------------------------------------

def configured_rules(province_id=None) -> dict[str, audits.RuleConfig]:
    """The rules in force for a province: defaults, then all-province, then its own settings."""
    settings = AuditRuleSetting.objects.filter(Q(province__isnull=True) | Q(province=province_id))
    ordered = sorted(settings, key=lambda s: s.province_id is not None)
    return audits.configure([(s.code, s.enabled, s.severity or None, _thresholds(s.thresholds))
                             for s in ordered])


def _thresholds(raw):
    return {k: Decimal(str(v)) for k, v in (raw or {}).items()} or None


def _rules_by_account(account_ids) -> dict[int, dict]:
    province = dict(AccountSite.objects.filter(OneOf("account_id", account_ids))
                    .values_list("account_id", "site__county__city__province_id"))
    cache = {}
    out = {}
    for acc in account_ids:
        p = province.get(acc)
        if p not in cache:
            cache[p] = configured_rules(p)
        out[acc] = cache[p]
    return out


# ---- storing flags ----------------------------------------------------------------------

def _store_flags(findings: dict[int, list]) -> dict[int, list]:
    """Store the findings; returns bill pk → its open flags' severities afterwards.

    After this a bill's open flags are exactly its findings that are new or were open
    before (resolved and whitelisted flags stay as they are; open flags whose finding has
    gone are dropped), so its counters follow without reading the flags back."""
    existing = {(f.bill_id, f.code): f
                for f in Flag.objects.filter(OneOf("bill_id", list(findings)))}
    create, update, keep = [], [], set()
    open_flags = defaultdict(list)
    for pk, items in findings.items():
        for f in items:
            old = existing.get((pk, f.code))
            keep.add((pk, f.code))
            if old is None:
                create.append({"bill_id": pk, "code": f.code, "severity": f.severity,
                               "message_zh": f.message_zh[:300],
                               "message_en": f.message_en[:300], "figures": f.figures})
            elif old.status == Flag.Status.OPEN:
                old.severity, old.figures = f.severity, f.figures
                old.message_zh, old.message_en = f.message_zh[:300], f.message_en[:300]
                update.append(old)
            else:
                continue
            open_flags[pk].append(f.severity)
    # allocation findings (FALLBACK & co.) are the allocation's to keep or drop, not ours
    gone = [f.pk for key, f in existing.items() if key not in keep
            and f.status == Flag.Status.OPEN and f.code not in audits.ALLOCATION_RULES]
    Flag.objects.filter(OneOf("pk", gone)).delete()
    copy_insert(Flag, create)
    fields = ["severity", "figures", "message_zh", "message_en"]
    bulk_set(Flag, [{"pk": f.pk, **{k: getattr(f, k) for k in fields}} for f in update], fields)
    return open_flags


def _set_counters(bills: list[dict], open_flags: dict[int, list]):
    """Write the open BLOCK/WARN counts of the bills whose stored counts differ — a new
    bill without findings keeps its zeros untouched."""
    changed = []
    for b in bills:
        severities = open_flags.get(b["pk"], ())
        blocking = sum(1 for s in severities if s == "BLOCK")
        warnings = len(severities) - blocking
        if (blocking, warnings) != (b["blocking"], b["warnings"]):
            changed.append({"pk": b["pk"], "blocking": blocking, "warnings": warnings})
    bulk_set(Bill, changed, ["blocking", "warnings"])


def refresh_counters(bill_ids):
    """Recount each bill's open BLOCK and WARN flags (the denormalised counters)."""
    for part in chunked(list(bill_ids)):
        counts = defaultdict(lambda: [0, 0])
        for bill, severity, n in Flag.objects.filter(bill_id__in=part, status=Flag.Status.OPEN) \
                .values("bill_id", "severity").annotate(n=Count("pk")) \
                .values_list("bill_id", "severity", "n"):
            counts[bill][0 if severity == "BLOCK" else 1] += n
        bulk_set(Bill, [{"pk": pk, "blocking": counts[pk][0], "warnings": counts[pk][1]}
                        for pk in part], ["blocking", "warnings"])
