"""油机发电 services: the only code that changes the program's state.

* ``audit``: (re)run the audit rules (domain.generator.audit_runs) on the unbilled runs of
  some sites; findings are stored per run and code, a resolved one keeps its resolution
  while its figures stay the same (new figures reopen it).
* ``resolve_finding``: a person clears a finding with a reason (audit log).
* ``record_payments``: a run recorded as paid posts Dr GEN_ADVANCE / Cr CASH once.
* ``correction.correct_run``: a paid, unbilled run's money or site corrected (its own module).
* ``bill_runs``: split each unbilled, unheld run's cost (domain.generator.split_run) and push
  GENERATOR lines through settlement.program_lines; idempotent per run (Billing is one per
  run, the entry's reference is the run's).
* ``month_figures`` / ``snapshot_month``: the monthly analysis, by city and operator.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.access.scope import writable
from towerledger.domain.codes import SettlementMode
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.generator import (
    BLOCK,
    METHOD_ZH,
    METHODS,
    TOWER,
    Party,
    RuleRow,
    RunFacts,
    agreement_method,
    audit_runs,
    split_run,
)
from towerledger.domain.journal import Posting
from towerledger.domain.months import month_end, next_month
from towerledger.ledger.services import open_period_start, post_entries
from towerledger.programs.generator.models import (
    AgreementRule,
    Billing,
    Finding,
    MonthFigures,
    Outage,
    Run,
    RunLine,
)
from towerledger.settlement.models import Line
from towerledger.settlement.program_lines import Charge, push_program_lines
from towerledger.sites.models import AllocationRule, Tenancy

ZERO = Decimal("0.00")
KIND = "GENERATOR"


class GeneratorError(DomainError):
    """A refusal of the generator program (``DomainError``: code, zh, en)."""


def local_day(dt: datetime) -> date:
    return timezone.localtime(dt).date()


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The aware datetimes [first instant of ``month``, first instant of the next)."""
    tz = timezone.get_current_timezone()
    return (datetime.combine(month.replace(day=1), time.min, tz),
            datetime.combine(next_month(month.replace(day=1)), time.min, tz))


# ---- audits ------------------------------------------------------------------------------

def audit(site_ids) -> int:
    """Re-audit the unbilled runs of ``site_ids``; returns the open BLOCK findings now."""
    site_ids = set(site_ids)
    if not site_ids:
        return 0
    runs = list(Run.objects.filter(site_id__in=site_ids).select_related("outage"))
    facts = [RunFacts(key=r.pk, run_no=r.run_no, site=r.site_id, start=r.start, end=r.end,
                      hours=r.hours, litres=r.litres, rated_lph=r.rated_lph,
                      outage=r.outage_id, outage_start=r.outage.start if r.outage else None,
                      outage_end=r.outage.end if r.outage else None) for r in runs]
    fired = audit_runs(facts)
    billed = set(Billing.objects.filter(run__in=[r.pk for r in runs])
                 .values_list("run_id", flat=True))
    todo = [r.pk for r in runs if r.pk not in billed]
    existing = {(f.run_id, f.code): f for f in Finding.objects.filter(run_id__in=todo)}
    keep, new = set(), []
    for pk in todo:
        by_code = {}
        for f in fired[pk]:
            if f.code in by_code:   # the same rule against two other runs: one finding
                old = by_code[f.code]
                by_code[f.code] = type(f)(f.code, f.severity,
                                          f"{old.message_zh}；{f.message_zh}"[:300],
                                          f"{old.message_en}; {f.message_en}"[:300],
                                          old.figures | {"others": ", ".join(filter(None, (
                                              old.figures.get("others") or
                                              old.figures.get("other"),
                                              f.figures.get("other"))))})
            else:
                by_code[f.code] = f
        for code, f in by_code.items():
            keep.add((pk, code))
            old = existing.get((pk, code))
            if old is None:
                new.append(Finding(run_id=pk, code=code, severity=f.severity,
                                   message_zh=f.message_zh[:300], message_en=f.message_en[:300],
                                   figures=f.figures))
            elif (old.message_zh, old.figures) != (f.message_zh, f.figures):
                # new figures: a resolution covered the old ones, so the finding reopens
                old.message_zh, old.message_en, old.figures = (
                    f.message_zh[:300], f.message_en[:300], f.figures)
                old.resolved_at, old.resolved_by, old.resolution = None, None, ""
                old.save(update_fields=["message_zh", "message_en", "figures", "resolved_at",
                                        "resolved_by", "resolution"])
    gone = [f.pk for key, f in existing.items() if key not in keep and f.is_open]
    with transaction.atomic():
        Finding.objects.filter(pk__in=gone).delete()
        Finding.objects.bulk_create(new)
    return Finding.objects.filter(run_id__in=todo, severity=BLOCK,
                                  resolved_at__isnull=True).count()


def resolve_finding(pk: int, user, reason: str) -> Finding:
    reason = (reason or "").strip()
    if not reason:
        raise GeneratorError("请填写处理原因", "a reason is required")
    f = writable(user, Finding.objects.all()).filter(pk=pk).select_related("run").first()
    if f is None:
        raise GeneratorError("无此稽核结果或不在您的范围内", "no such finding in your scope",
                             ErrorCode.OUT_OF_SCOPE)
    if f.resolved_at:
        return f
    with transaction.atomic():
        f.resolved_at, f.resolved_by, f.resolution = timezone.now(), user, reason[:200]
        f.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        record(user, "generator.resolve", "generator_finding", f"{f.run.run_no}/{f.code}",
               {"status": "OPEN"}, {"status": "RESOLVED"}, reason)
    return f


def held_run_ids(run_ids) -> set:
    return set(Finding.objects.filter(run_id__in=list(run_ids), severity=BLOCK,
                                      resolved_at__isnull=True).values_list("run_id", flat=True))


# ---- payments ----------------------------------------------------------------------------

def payment_reference(run_no: str, version: int = 0) -> str:
    """The reference of a run's payment entry: GEN-PAY-<run_no> until it is first corrected,
    GEN-PAY-<run_no>#<n> after the n-th correction (``#`` is never in a run_no)."""
    return f"GEN-PAY-{run_no}" + (f"#{version}" if version else "")


def reversal_reference(run_no: str, version: int) -> str:
    """The n-th correction's reversal of the payment entry standing before it."""
    return f"GEN-REV-{run_no}#{version}"


def record_payments(runs, user=None) -> int:
    """Dr GEN_ADVANCE / Cr CASH for each run recorded as paid (once: the reference names the
    run and its payment version, so a run paid again after a correction un-paid it posts
    anew)."""
    entries, site_ids = [], {}
    for r in runs:
        if r.paid_date is None or not r.cost:
            continue
        code = r.site.site_code
        site_ids[code] = r.site_id
        entries.append((r.paid_date, "GEN_PAY", payment_reference(r.run_no, r.payment_version),
                        f"油机发电支付 generator run paid {r.run_no}",
                        [Posting("GEN_ADVANCE", debit=r.cost, site=code),
                         Posting("CASH", credit=r.cost)]))
    return post_entries(entries, user, site_ids=site_ids)


# ---- the agreement rule ------------------------------------------------------------------

def rule_rows() -> list[RuleRow]:
    return [RuleRow(r["effective_from"], r["method"], r["province_id"], r["operator_id"])
            for r in AgreementRule.objects.values("effective_from", "method", "province_id",
                                                  "operator_id")]


def set_rule(user, effective_from: date, method: str, province_id=None, operator_id=None,
             reason: str = "") -> AgreementRule:
    """Record the agreement's rule from ``effective_from`` (province admins)."""
    if method not in METHODS:
        raise GeneratorError(f"未知分摊方式 {method}", f"unknown method {method}")
    with transaction.atomic():
        rule, created = AgreementRule.objects.update_or_create(
            province_id=province_id, operator_id=operator_id, effective_from=effective_from,
            defaults={"method": method, "recorded_by": user if getattr(user, "pk", None)
                      else None})
        record(user, "generator.rule", "generator_rule",
               f"{province_id or '*'}/{operator_id or '*'}/{effective_from}", None,
               {"method": method}, reason or "发电分摊规则 generator rule")
    return rule


# ---- billing -----------------------------------------------------------------------------

@dataclass
class BillResult:
    billed: list = field(default_factory=list)     # run_no billed now
    held: list = field(default_factory=list)       # run_no held by an open BLOCK finding
    lines: int = 0
    amount: Decimal = ZERO

    def as_dict(self) -> dict:
        return {"billed": len(self.billed), "held": len(self.held), "lines": self.lines,
                "amount": str(self.amount)}


def unbilled(user=None, month: date | None = None, run_ids=None):
    qs = writable(user, Run.objects.filter(billing__isnull=True))
    if month is not None:
        first, after = month_bounds(month)
        qs = qs.filter(start__gte=first, start__lt=after)
    if run_ids is not None:
        qs = qs.filter(pk__in=list(run_ids))
    return qs


BATCH = 500   # runs per transaction and journal entry when billing many


def bill_runs(user=None, month: date | None = None, run_ids=None,
              today: date | None = None) -> BillResult:
    """Bill the unbilled runs of ``month`` (by start) or of ``run_ids`` within the user's
    scope: each run not held by an open BLOCK finding becomes GENERATOR lines (its tenancies'
    shares) and a tower-borne line (the tower's share). Idempotent per run (``Billing`` is
    unique per run). Set-wise: the sites' tenancies and rules are read once, and up to
    ``BATCH`` runs of one line month share one transaction and one journal entry."""
    today = today or timezone.localdate()
    result = BillResult()
    runs = list(unbilled(user, month, run_ids).select_related(
        "outage", "site__county__city").order_by("start", "run_no"))
    held = held_run_ids(r.pk for r in runs)
    todo = []
    for run in runs:
        if run.pk in held or run.outage is None:
            result.held.append(run.run_no)
        else:
            todo.append(run)
    facts = Facts(todo)
    opened = open_period_start()
    by_month = defaultdict(list)
    for run in todo:
        by_month[line_month(run, opened)].append(run)
    for line_mo, group in sorted(by_month.items()):
        for i in range(0, len(group), BATCH):
            batch = group[i:i + BATCH]
            try:
                n = _bill_batch(batch, facts, user, today, line_mo)
                done = batch
            except IntegrityError:   # some billed meanwhile by another request: one by one
                n, done = 0, []
                for run in batch:
                    try:
                        n += _bill_batch([run], facts, user, today, line_mo)
                        done.append(run)
                    except IntegrityError:
                        continue
            result.billed += [r.run_no for r in done]
            result.lines += n
            result.amount += sum((r.cost for r in done), ZERO)
    if result.billed:
        record(user, "generator.bill", "generator_runs", f"{len(result.billed)} runs", None,
               result.as_dict(), "油机发电出账 generator runs billed")
    return result


def line_month(run: Run, opened: date | None) -> date:
    """The month a run's lines belong to: the run's, or the open month if that is closed."""
    month = local_day(run.start).replace(day=1)
    return opened if opened and month < opened else month


class Facts:
    """What the splits need, read once for the sites of many runs: tenancies, the sites'
    dated tower shares, the agreement rules."""

    def __init__(self, runs):
        from towerledger.db.bulk import chunked

        site_ids = sorted({r.site_id for r in runs})
        self.tenancies = defaultdict(list)
        self.tower_shares = defaultdict(list)
        for part in chunked(site_ids):
            for t in Tenancy.objects.filter(site_id__in=part).order_by("tenancy_id"):
                self.tenancies[t.site_id].append(t)
            for site_id, since, share in (AllocationRule.objects.filter(site_id__in=part)
                                          .order_by("effective_from").values_list(
                                              "site_id", "effective_from", "tower_share")):
                self.tower_shares[site_id].append((since, share))
        self.rules = rule_rows()

    def tower_share(self, site_id, on: date) -> Decimal:
        share = ZERO
        for since, value in self.tower_shares.get(site_id, ()):
            if since <= on:
                share = value
        return share


def split_for(run: Run, facts: Facts | None = None):
    """(split, tenancies by code, first day, last day, mixed) for ``run``'s outage."""
    facts = facts or Facts([run])
    outage = run.outage
    first, last = local_day(outage.start), local_day(outage.end)
    tenancies = {t.tenancy_id: t for t in facts.tenancies.get(run.site_id, ())
                 if t.start_date <= last and (t.end_date is None or t.end_date >= first)}
    method, mixed = agreement_method(facts.rules, run.site.county.city.province_id,
                                     {t.operator_id for t in tenancies.values()}, first)
    split = split_run(run.cost, [Party(code, t.dc_current_a) for code, t in tenancies.items()],
                      method, facts.tower_share(run.site_id, first))
    return split, tenancies, first, last, mixed


def _explain(run, split, code, amount, mixed) -> tuple[str, str, dict]:
    o = run.outage
    fuel = run.cost - run.labour_cost - run.transport_cost
    weights = dict(split.weights)
    whole = sum(weights.values(), Decimal(0))
    own = weights.get(code)
    span = f"{timezone.localtime(o.start):%Y-%m-%d %H:%M}～{timezone.localtime(o.end):%Y-%m-%d %H:%M}"
    rule_zh = METHOD_ZH[split.method] + ("（各运营商约定不一，按平均）" if mixed else "") + (
        "（缺直流电流，改按平均）" if split.fallback else "")
    rule_en = split.method + (" (agreements differ: EQUAL)" if mixed else "") + (
        f" (fallback to EQUAL: {split.fallback})" if split.fallback else "")
    if code == TOWER:
        who_zh = f"铁塔自担 {split.tower_share.normalize():f}% = {amount}"
        who_en = f"tower's own share {split.tower_share.normalize():f}% = {amount}"
        if not split.shares:
            who_zh, who_en = f"停电期间无在网租户，铁塔自担 {amount}", \
                f"no tenancy active during the outage: tower bears {amount}"
    else:
        who_zh = (f"本租户权重 {own.normalize():f} / 合计 {whole.normalize():f}，"
                  f"铁塔自担 {split.tower_share.normalize():f}% 后分得 {amount}")
        who_en = (f"this tenancy's weight {own.normalize():f} of {whole.normalize():f}, after "
                  f"the tower's {split.tower_share.normalize():f}%: {amount}")
    zh = (f"油机发电：停电 {o.outage_no}（{span}{'，' + o.cause if o.cause else ''}），"
          f"发电单 {run.run_no}：{run.hours} 小时，耗油 {run.litres} 升 × {run.fuel_price} 元/升"
          f" = {fuel}，人工 {run.labour_cost}，运输 {run.transport_cost}，合计 {run.cost}；"
          f"分摊规则 {rule_zh}；{who_zh}")
    en = (f"Generator dispatch: outage {o.outage_no} ({span}{', ' + o.cause if o.cause else ''}),"
          f" run {run.run_no}: {run.hours} h, {run.litres} L × {run.fuel_price} yuan/L = {fuel},"
          f" labour {run.labour_cost}, transport {run.transport_cost}, cost {run.cost}; "
          f"rule {rule_en}; {who_en}")
    extra = {"outage_no": o.outage_no, "run_no": run.run_no, "hours": str(run.hours),
             "litres": str(run.litres), "fuel_price": str(run.fuel_price),
             "labour": str(run.labour_cost), "transport": str(run.transport_cost),
             "cost": str(run.cost), "rule": split.method, "agreed_rule": split.asked,
             "mixed_agreements": mixed, "fallback": split.fallback,
             "tower_share": str(split.tower_share),
             "weight": str(own) if own is not None else "", "weights_total": str(whole),
             "share_amount": str(amount)}
    return zh, en, extra


def _charges(run: Run, facts: Facts) -> tuple:
    """(split, charges) of one run; no zero charge (push_program_lines makes no line of it,
    and the caller maps lines to runs by position)."""
    split, tenancies, first, last, mixed = split_for(run, facts)
    days = (last - first).days + 1
    charges = []
    for code, amount in split.shares.items():
        if not amount:
            continue
        t = tenancies[code]
        zh, en, extra = _explain(run, split, code, amount, mixed)
        charges.append(Charge(
            site_id=run.site_id, amount=amount, period_start=first, period_end=last,
            explanation={"text_zh": zh, "text_en": en}, tenancy_id=t.pk,
            operator_id=t.operator_id, mode=SettlementMode.ON_BEHALF,
            share=split.ratios[code], active_days=days, extra=extra))
    if split.tower:
        zh, en, extra = _explain(run, split, TOWER, split.tower, mixed)
        charges.append(Charge(site_id=run.site_id, amount=split.tower, period_start=first,
                              period_end=last, explanation={"text_zh": zh, "text_en": en},
                              share=split.tower_share / 100, active_days=days, extra=extra))
    return split, charges


def _bill_batch(runs: list, facts: Facts, user, today: date, month: date) -> int:
    """Bill ``runs`` (of one line month) in one transaction and one journal entry, whose
    reference names them (GEN-<run_no> for one run): a run is never billed twice (Billing is
    unique per run), so no two batches share a first run."""
    who = user if getattr(user, "pk", None) else None
    billings, charges, owners = [], [], []
    for run in runs:
        split, mine = _charges(run, facts)
        billings.append(Billing(run=run, billed_by=who, method=split.method,
                                tower_share=split.tower_share, cost=run.cost,
                                tower_part=split.tower))
        charges += mine
        owners += [run] * len(mine)
    if len(runs) == 1:
        reference, memo = f"GEN-{runs[0].run_no}", f"油机发电 generator run {runs[0].run_no}"
    else:
        reference = f"GEN-{runs[0].run_no}…{runs[-1].run_no}#{len(runs)}"
        memo = f"油机发电 {len(runs)} generator runs {runs[0].run_no}…{runs[-1].run_no}"
    with transaction.atomic():
        Billing.objects.bulk_create(billings)
        lines = push_program_lines(KIND, charges, user=user, reference=reference, memo=memo,
                                   today=today, month=month) if charges else []
        RunLine.objects.bulk_create([RunLine(run=run, line=ln)
                                     for run, ln in zip(owners, lines, strict=True)],
                                    batch_size=2000)
    return len(lines)


# ---- monthly analysis --------------------------------------------------------------------

def _chain_lines(run_q: Q):
    ids = list(RunLine.objects.filter(run_q).values_list("line_id", flat=True))
    return Line.objects.filter(Q(pk__in=ids) | Q(root_id__in=ids)), ids


def month_figures(month: date, user=None, as_of: date | None = None) -> list[dict]:
    """Outages, runs, hours and cost of ``month`` (runs by start) by city; billed, confirmed
    and written off of their GENERATOR lines by city and operator (as the receivables core
    reports them: current, confirmed, written off). Scoped to ``user``'s cities."""
    from towerledger.access.scope import scoped
    from towerledger.org.models import City, Operator

    first, after = month_bounds(month)
    runs = scoped(user, Run.objects.filter(start__gte=first, start__lt=after))
    outages = scoped(user, Outage.objects.filter(start__gte=first, start__lt=after))
    rows: dict = defaultdict(lambda: {"outages": 0, "runs": 0, "hours": ZERO, "cost": ZERO,
                                      "billed": ZERO, "confirmed": ZERO,
                                      "written_off": ZERO})
    for r in outages.values("site__county__city_id").annotate(n=Count("pk")):
        rows[(r["site__county__city_id"], None)]["outages"] = r["n"]
    for r in runs.values("site__county__city_id").annotate(n=Count("pk"), h=Sum("hours"),
                                                           c=Sum("cost")):
        row = rows[(r["site__county__city_id"], None)]
        row["runs"] = r["n"]
        row["hours"] = Decimal(r["h"] or 0).quantize(ZERO)   # SQLite sums decimals as floats
        row["cost"] = Decimal(r["c"] or 0).quantize(ZERO)
    lines, ids = _chain_lines(Q(run__in=runs.values("pk")))
    if ids:
        for city, op, amount in lines.current().values_list("city_id", "operator_id",
                                                           "receivable"):
            rows[(city, op)]["billed"] += amount
            rows[(city, None)]["billed"] += amount
        for city, op, amount, off in lines.confirmed().values_list(
                "city_id", "operator_id", "receivable", "written_off"):
            for key in ((city, op), (city, None)):
                rows[key]["confirmed"] += amount
                rows[key]["written_off"] += Decimal(str(off or 0)).quantize(ZERO)
        # outages and hours an operator was billed for
        per_op = defaultdict(set)
        for city, op, run_id, hours in RunLine.objects.filter(
                line_id__in=ids, line__operator__isnull=False).values_list(
                "line__city_id", "line__operator_id", "run_id", "run__hours"):
            per_op[(city, op)].add((run_id, hours))
        for key, seen in per_op.items():
            rows[key]["runs"] = len(seen)
            rows[key]["hours"] = sum((h for _, h in seen), ZERO)
    cities = dict(City.objects.values_list("pk", "name"))
    ops = dict(Operator.objects.values_list("pk", "code"))
    out = []
    for (city, op), v in rows.items():
        out.append({"city_id": city, "city": cities.get(city, ""), "operator_id": op,
                    "operator": ops.get(op, "") if op else "", **v,
                    "recovery_rate": (v["written_off"] / v["billed"] * 100).quantize(
                        Decimal("0.01")) if v["billed"] else None})
    out.sort(key=lambda r: (r["city"], r["operator"]))
    return out


def stored_figures(month: date, user=None) -> tuple[list[dict], date | None]:
    """The month's figures as its close stored them (rows like ``month_figures``, scoped)
    and their as-of date; ([], None) when the month has no snapshot."""
    from towerledger.access.scope import scoped

    rows = list(scoped(user, MonthFigures.objects.filter(month=month)).select_related(
        "city", "operator"))
    out = [{"city_id": r.city_id, "city": r.city.name, "operator_id": r.operator_id,
            "operator": r.operator.code if r.operator_id else "", "outages": r.outages,
            "runs": r.runs, "hours": r.hours, "cost": r.cost, "billed": r.billed,
            "confirmed": r.confirmed, "written_off": r.written_off,
            "recovery_rate": (r.written_off / r.billed * 100).quantize(Decimal("0.01"))
            if r.billed else None} for r in rows]
    out.sort(key=lambda r: (r["city"], r["operator"]))
    return out, (rows[0].as_of if rows else None)


def snapshot_month(month: date, as_of: date) -> int:
    """Replace ``month``'s stored figures (idempotent)."""
    rows = month_figures(month, None, as_of)
    with transaction.atomic():
        MonthFigures.objects.filter(month=month).delete()
        MonthFigures.objects.bulk_create([MonthFigures(
            month=month, city_id=r["city_id"], operator_id=r["operator_id"],
            outages=r["outages"], runs=r["runs"], hours=r["hours"], cost=r["cost"],
            billed=r["billed"], confirmed=r["confirmed"], written_off=r["written_off"],
            as_of=as_of) for r in rows])
    return len(rows)


# ---- month close receivers ---------------------------------------------------------------

def on_month_closing(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    """The close bills the month's unbilled runs (those not held by a finding)."""
    result = bill_runs(user=user, month=month, today=as_of or month_end(month))
    return result.as_dict()


def on_month_snapshots(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    return {"rows": snapshot_month(month, as_of or month_end(month))}
