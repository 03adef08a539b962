"""分摊 and 推送: turn paid bills into allocation lines and push them, set-wise.

For each batch of paid bills not yet allocated this loads the plain facts the pure
``domain.allocation`` needs (the account's site split, each site's tenancies and dated
rules, sub-meter readings, the tax-factor table), allocates every bill, stores the lines,
pushes the operators' lines (T+0 when the push falls on the paid date) and posts one
balanced entry per bill:

  Dr UNCONFIRMED (site, operator)  receivable of each pushed line
  Dr TOWER_COST  (site)            tower-borne cost
  Cr ADVANCE     (site)            the site's cost shares (= the advance paid for the site)
  Cr TAX_FACTOR  (site, operator)  tax-factor gross-up of RESALE lines

Lines are never rewritten: a bill that already has lines is skipped, so running it again
(or after a crash) allocates only what is missing.
"""

import gc
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from towerledger.access.scope import writable
from towerledger.bills.models import Bill, SubmeterReading
from towerledger.db import stats
from towerledger.db.bulk import OneOf, copy_insert, parts
from towerledger.db.parallel import in_workers, workers_for
from towerledger.domain import allocation as dom
from towerledger.domain.codes import Method, SettlementMode
from towerledger.domain.explain import split
from towerledger.domain.journal import Posting
from towerledger.domain.months import next_month
from towerledger.domain.tax import Found
from towerledger.ledger.services import post_entries
from towerledger.org.models import Operator, OperatorAgreement
from towerledger.settlement.models import BillSiteTrace, Line, LineTrace
from towerledger.sites import terms as supply_terms
from towerledger.sites.models import AccountSite, AllocationRule, Tenancy, TenancyRatio
from towerledger.sites.tax_factors import load_table

BATCH = 5000      # bills per transaction, at most
MIN_PART = 500    # a smaller run stays in one process (a worker's start costs more)


@dataclass
class Result:
    bills: int = 0
    lines: int = 0
    pushed: int = 0
    same_day: int = 0
    flags: list = field(default_factory=list)   # (bill pk, site_code, code, message)
    requested: int = 0                           # bills asked for (progress)

    def __iadd__(self, o: "Result"):
        self.bills += o.bills
        self.lines += o.lines
        self.pushed += o.pushed
        self.same_day += o.same_day
        self.flags += o.flags
        self.requested += o.requested
        return self


# ---- configuration tables ---------------------------------------------------------------

class TaxFactors:
    """The 税负因子 table for a run, loaded once (``sites.tax_factors.load_table``); the
    lookup and its precedence are ``domain.tax.TaxFactorTable``'s, remembered per
    combination, so 100,000 bills cost no query. It answers with the row that gave the
    factor, which goes into each line's explanation."""

    def __init__(self):
        self.table = load_table()

    def __call__(self, b, province_id, operator: str) -> Found:
        return self.table.lookup(
            province=province_id, operator=operator, account=b["account_id"],
            supply_mode=b["terms"].supply_mode,      # the account's terms on the bill's day
            invoice_type=b["invoice_type"] or b["terms"].input_invoice_type,
            on=b["period_end"])   # one factor per bill: the row in force on its period end


def _with_tax_source(ln: dom.Line, tax_rows: dict) -> dict:
    """The line's trace with the tax-factor row that gave its factor (RESALE lines); the
    sentence saying so is rendered with the rest when the line is read."""
    source = tax_rows.get(ln.operator) if ln.mode == SettlementMode.RESALE else None
    if source is None:
        return ln.trace
    return dict(ln.trace, tax_factor_source=source.trace())


@dataclass(frozen=True)
class Terms:
    confirm_within_days: int = 10
    deemed_confirmed: bool = True
    resolve_within_days: int = 20


class Agreements:
    """Operator agreements in force: the province's own row beats the all-province one."""

    def __init__(self):
        self.rows = defaultdict(list)
        self.memo = {}
        for a in OperatorAgreement.objects.values("operator_id", "province_id",
                                                  "effective_from", "confirm_within_days",
                                                  "deemed_confirmed", "resolve_within_days"):
            self.rows[a["operator_id"]].append(a)

    def __call__(self, operator_id, province_id, on: date) -> Terms:
        key = (operator_id, province_id, on)
        found = self.memo.get(key)   # an allocation asks the same few once per pushed line
        if found is None:
            found = self.memo[key] = self._terms(operator_id, province_id, on)
        return found

    def _terms(self, operator_id, province_id, on: date) -> Terms:
        best = None
        for a in self.rows.get(operator_id, ()):
            if a["effective_from"] > on or a["province_id"] not in (None, province_id):
                continue
            rank = (a["province_id"] is not None, a["effective_from"])
            if best is None or rank > best[0]:
                best = (rank, a)
        if best is None:
            return Terms()
        a = best[1]
        return Terms(a["confirm_within_days"], a["deemed_confirmed"], a["resolve_within_days"])


# ---- allocation ------------------------------------------------------------------------

def unallocated(bill_ids=None, month: date | None = None):
    """Paid bills without allocation lines (optionally only these, or paid in ``month``)."""
    qs = Bill.objects.filter(status=Bill.Status.PAID).filter(~allocated())
    if bill_ids is not None:
        qs = qs.filter(pk__in=list(bill_ids))
    if month is not None:
        qs = qs.filter(paid_date__gte=month, paid_date__lt=next_month(month))
    return qs


def allocated() -> Exists:
    """The bill has allocation lines. NOT EXISTS, not NOT IN: PostgreSQL cannot turn
    ``NOT IN (SELECT nullable …)`` into an anti-join and rescans the lines per bill."""
    return Exists(Line.objects.filter(kind=Line.Kind.ALLOCATION, bill_id=OuterRef("pk")))


def allocate_bills(bill_ids=None, user=None, month: date | None = None, today: date | None = None,
                   progress=None) -> Result:
    """Allocate and push paid bills that have no lines yet; returns what was done."""
    today = today or timezone.localdate()
    # a clerk's run (CLI --user) allocates their city's bills; viewers and operators none
    ids = list(writable(user, unallocated(bill_ids, month)).order_by("pk")
               .values_list("pk", flat=True))
    result = Result()
    if not ids:
        return result
    taxes, terms = TaxFactors(), Agreements()

    def batch(part) -> Result:
        with transaction.atomic(), _bulk_session():
            return _allocate_batch(part, user, today, taxes, terms)

    # batches are independent (each bill is allocated by one, in its own transaction): on
    # PostgreSQL they run in parallel processes (db.parallel) with the serial run's results
    workers = workers_for(-(-len(ids) // min(BATCH, MIN_PART)))
    batches = _batches(ids, workers)
    done = in_workers(batch, batches, workers) if workers > 1 else map(batch, batches)
    for r in done:
        result += r
        if progress:
            progress(r.requested)
    stats.refresh()   # the lines, traces and journal just written, seen by the planner
    return result


def _batches(ids: list, workers: int) -> list[list]:
    """``ids`` in order, in batches of at most ``BATCH``, as many as a multiple of
    ``workers`` and of sizes differing by one at most, so every process has the same work
    and they finish together (5,000 and 1,041 bills kept one process waiting on the
    other)."""
    count = max(-(-len(ids) // BATCH), workers)
    count = -(-count // workers) * workers
    size, longer = divmod(len(ids), count)      # the first ``longer`` take one more
    out, start = [], 0
    for k in range(count):
        stop = start + size + (k < longer)
        if stop > start:
            out.append(ids[start:stop])
        start = stop
    return out


@contextmanager
def _bulk_session():
    """For one batch's transaction: no JIT on PostgreSQL (the analysis rollups' statements
    on the new lines are estimated costly enough to be compiled, and compiling them took
    longer than running them: about 1 s a statement), work_mem 64 MB (the default 4 MB made
    the rollup triggers' hash aggregates over a batch's ~13,000 lines spill to disk in five
    batches; two workers' few hash nodes fit easily), and no cyclic garbage collection
    while the batch builds its rows (tens of thousands of small objects, none in a cycle:
    the collector's full passes over them cost seconds and free nothing). The settings the
    transaction had are restored after the batch (it may run inside a caller's)."""
    before = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('jit'), current_setting('work_mem'), "
                        "set_config('jit', 'off', true), set_config('work_mem', '64MB', true)")
            before = cur.fetchone()[:2]
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
    if before is not None:   # (on an error the transaction is rolled back, settings too)
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('jit', %s, true), set_config('work_mem', %s, true)",
                        before)


BILL_FIELDS = ("pk", "bill_no", "account_id", "amount", "kwh", "period_start", "period_end",
               "invoice_type", "paid_date")


def _allocate_batch(pks, user, today, taxes, terms) -> Result:
    bills = []
    for part in parts(pks):
        bills += Bill.objects.filter(OneOf("pk", part), status=Bill.Status.PAID).filter(
            ~allocated()).select_for_update().values(*BILL_FIELDS)
    facts = _Facts.load(bills)
    now = timezone.now()
    result = Result(bills=len(bills), requested=len(pks))
    lines, entries = [], []
    found = {}   # bill pk → its allocation findings, stored on the bill (settlement.held)
    for b in bills:
        province = facts.province_of(b["account_id"])
        sites = facts.sites(b)
        if not sites:
            result.flags.append((b["pk"], "", "NO_SITE", "account feeds no site"))
            found[b["pk"]] = [("", "NO_SITE", "account feeds no site")]
            continue
        tax_rows = {}   # operator → the tax-factor row that gave its factor

        def factor(op, b=b, province=province, tax_rows=tax_rows):
            tax_rows[op] = taxes(b, province, op)
            return tax_rows[op].factor

        alloc = dom.allocate(
            dom.BillIn(b["bill_no"], b["amount"], b["kwh"], b["period_start"], b["period_end"]),
            sites, factor, explain=False)
        result.flags += [(b["pk"], *f) for f in alloc.flags]
        found[b["pk"]] = list(alloc.flags)
        bill_lines = [_line(b, ln, facts, terms, today, now, province, tax_rows)
                      for ln in alloc.lines]
        lines += bill_lines
        entry = _entry(b, bill_lines, today, facts)
        if entry:
            entries.append(entry)
    from towerledger.settlement.held import record_findings

    lines, entries = record_findings(bills, found, facts, lines, entries)
    traces = [ln.pop("trace") for ln in lines]
    ids = copy_insert(Line, lines)
    # the explanation, stored in two parts (domain.explain.split): once per bill and site,
    # and the line's own numbers per line; settlement.explain puts them together when read
    shared, own = {}, []
    for ln, trace in zip(lines, traces, strict=True):
        site_part, line_part = split(trace)
        shared.setdefault((ln["bill_id"], ln["site_id"]), site_part)
        own.append(line_part)
    copy_insert(BillSiteTrace, [{"bill_id": bill, "site_id": site, "trace": trace}
                                for (bill, site), trace in shared.items()])
    copy_insert(LineTrace, [{"line_id": pk, "trace": trace}
                            for pk, trace in zip(ids, own, strict=True)])
    post_entries(entries, user, site_ids=facts.site_ids, operator_ids=facts.operator_ids)
    result.lines = len(lines)
    pushed = [ln for ln in lines if ln["status"] == Line.Status.PUSHED]
    result.pushed = len(pushed)
    paid = {b["pk"]: b["paid_date"] for b in bills}
    result.same_day = sum(1 for ln in pushed if paid[ln["bill_id"]] == ln["push_date"])
    return result


def _line(b, ln: dom.Line, facts, terms, today, now, province, tax_rows) -> dict:
    site = facts.site_by_code[ln.site_code]
    operator_id = facts.operator_ids.get(ln.operator) if ln.operator else None
    push = ln.tenancy_key is not None and ln.mode != SettlementMode.LUMP_SUM
    due = None
    if push:
        due = today + timedelta(days=terms(operator_id, province, today).confirm_within_days)
    return dict(
        kind=Line.Kind.ALLOCATION, bill_id=b["pk"], site_id=site["site_id"],
        city_id=site["city_id"], tenancy_id=ln.tenancy_key, operator_id=operator_id,
        mode=ln.mode or "", month=b["period_end"].replace(day=1),
        period_start=b["period_start"], period_end=b["period_end"],
        active_days=ln.active_days, share=ln.share, cost_share=ln.cost_share,
        tax_factor=ln.tax_factor, tax_amount=ln.tax_amount, receivable=ln.receivable,
        trace=_with_tax_source(ln, tax_rows),
        status=Line.Status.PUSHED if push else Line.Status.TOWER,
        pushed_at=now if push else None, push_date=today if push else None, confirm_due=due)


def _entry(b, lines: list[dict], today, facts):
    code_of = facts.code_of_site
    op_code = facts.code_of_operator
    postings = []
    advance = defaultdict(Decimal)
    for ln in lines:
        site = code_of[ln["site_id"]]
        advance[site] += ln["cost_share"]
        if ln["status"] == Line.Status.PUSHED:
            if ln["receivable"]:
                postings.append(Posting("UNCONFIRMED", debit=ln["receivable"], site=site,
                                        operator=op_code[ln["operator_id"]]))
            if ln["tax_amount"]:
                postings.append(Posting("TAX_FACTOR", credit=ln["tax_amount"], site=site,
                                        operator=op_code[ln["operator_id"]]))
        elif ln["cost_share"]:
            postings.append(Posting("TOWER_COST", debit=ln["cost_share"], site=site))
    postings += [Posting("ADVANCE", credit=amount, site=site)
                 for site, amount in advance.items() if amount]
    if not postings:  # a zero bill: nothing moves, but the entry records that it was allocated
        return None
    return (today, "ALLOCATION", f"B{b['pk']}", f"分摊 {b['bill_no']}", postings)


class _Facts:
    """What the allocation of a batch of bills needs, loaded in a few queries."""

    @classmethod
    def load(cls, bills) -> "_Facts":
        """Also sets each bill's ``terms``: its account's supply terms on the bill's day
        (dated master data, ``sites.terms``; one query for the batch)."""
        self = cls()
        accounts = {b["account_id"] for b in bills}
        book = supply_terms.load(accounts)
        for b in bills:
            b["terms"] = book.for_bill(b)
        self.splits = defaultdict(list)
        self.site_by_code = {}
        for part in parts(accounts):
            for s in AccountSite.objects.filter(OneOf("account_id", part)).values(
                    "account_id", "site_id", "site__site_code", "split_ratio",
                    "site__county__city_id", "site__county__city__province_id",
                    "site__decommission_date"):
                self.splits[s["account_id"]].append(s)
                self.site_by_code[s["site__site_code"]] = {
                    "site_id": s["site_id"], "city_id": s["site__county__city_id"],
                    "province_id": s["site__county__city__province_id"],
                    "closed": s["site__decommission_date"]}
        self.site_ids = {code: v["site_id"] for code, v in self.site_by_code.items()}
        self.code_of_site = {v: k for k, v in self.site_ids.items()}
        site_ids = list(self.site_ids.values())
        self.operator_ids = dict(Operator.objects.values_list("code", "pk"))
        self.code_of_operator = {v: k for k, v in self.operator_ids.items()}
        self.tenancies = defaultdict(list)
        for part in parts(site_ids):
            for t in Tenancy.objects.filter(OneOf("site_id", part)).values(
                    "pk", "tenancy_id", "site_id", "operator__code", "operator_id",
                    "start_date", "end_date", "settlement_mode", "agreed_ratio",
                    "dc_current_a", "rated_power_w"):
                self.tenancies[t["site_id"]].append(t)
        # dated agreed ratios (DOMAIN.md §3): the day's ratio, not one undated value
        self.ratios = defaultdict(list)
        tenancy_ids = [t["pk"] for ts in self.tenancies.values() for t in ts]
        for part in parts(tenancy_ids):
            for tid, since, ratio in TenancyRatio.objects.filter(
                    OneOf("tenancy_id", part)).values_list(
                    "tenancy_id", "effective_from", "agreed_ratio"):
                self.ratios[tid].append((since, ratio))
        self.rules = defaultdict(list)
        for part in parts(site_ids):
            for r in AllocationRule.objects.filter(OneOf("site_id", part)).values(
                    "site_id", "effective_from", "method", "fallback_method", "common_policy",
                    "tower_share"):
                self.rules[r["site_id"]].append(dom.RuleIn(
                    r["effective_from"], r["method"], r["fallback_method"],
                    r["common_policy"], r["tower_share"]))
        metered = [s for s, rules in self.rules.items()
                   if any(r.method == Method.SUBMETER for r in rules)]
        self.readings = defaultdict(list)
        for part in parts(metered):
            for r in SubmeterReading.objects.filter(OneOf("site_id", part)).values(
                    "site_id", "operator_id", "period_start", "period_end", "kwh"):
                self.readings[r["site_id"], r["operator_id"]].append(r)
        return self

    def province_of(self, account_id):
        splits = self.splits.get(account_id)
        return splits[0]["site__county__city__province_id"] if splits else None

    def sites(self, b) -> list[dom.SiteIn]:
        out = []
        for s in self.splits.get(b["account_id"], ()):
            site_id, closed = s["site_id"], s["site__decommission_date"]
            tenancies = tuple(self._tenancy(t, b, closed) for t in self.tenancies[site_id])
            out.append(dom.SiteIn(s["site__site_code"], s["split_ratio"], tenancies,
                                  tuple(self.rules[site_id])))
        return out

    def _tenancy(self, t, b, closed) -> dom.TenancyIn:
        end = min(filter(None, (t["end_date"], closed)), default=None)
        return dom.TenancyIn(
            key=t["pk"], tenancy_id=t["tenancy_id"], operator=t["operator__code"],
            start=t["start_date"], end=end, mode=t["settlement_mode"],
            agreed_ratio=t["agreed_ratio"], dc_current_a=t["dc_current_a"],
            rated_power_w=t["rated_power_w"], ratios=tuple(sorted(self.ratios.get(t["pk"], ()))),
            submeter_kwh=self._metered(t["site_id"], t["operator_id"], b))

    def _metered(self, site_id, operator_id, b) -> Decimal | None:
        """Sub-metered kWh of the tenancy within the bill's period (None: no reading)."""
        found = [r["kwh"] for r in self.readings.get((site_id, operator_id), ())
                 if r["period_start"] >= b["period_start"] and r["period_end"] <= b["period_end"]]
        return sum(found, Decimal(0)) if found else None
