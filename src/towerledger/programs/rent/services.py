"""场租与场地费包干: the operations that change state (each one transaction, audit-logged,
idempotent where a retry can happen). The rules themselves are in ``domain.rent``.

* ``create_contract`` / ``regenerate_schedule``: a contract and its payment schedule;
* ``record_payment``: rent (垫付, Dr RENT_ADVANCE / Cr CASH) or the deposit (Dr RENT_DEPOSIT /
  Cr CASH) paid to the landlord; a rent payment is then passed through (``pass_through``):
  RENT lines over the period's active tenancies, the tower's part tower-borne (RENT_COST);
* ``site_fee_lines``: the month's SITE_FEE_LUMP_SUM lines (the month close calls it);
* ``open_items`` / ``terminate_contracts``: for the decommissioning checklist;
* ``refresh_findings``: contracts whose rent is far above the city's median;
* ``month_figures``: the month's figures by city (stored by the close).
"""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.db.bulk import OneOf, parts
from towerledger.domain import rent as R
from towerledger.domain.codes import SettlementMode
from towerledger.domain.journal import Posting
from towerledger.domain.money import fen
from towerledger.domain.months import month_end
from towerledger.ledger.services import post_entries
from towerledger.programs.rent.models import (
    RentContract,
    RentFinding,
    RentLine,
    RentMonth,
    RentPayment,
    ScheduleItem,
    SiteFeeAgreement,
    SiteFeeLine,
)
from towerledger.settlement.models import Line
from towerledger.settlement.program_lines import Charge, push_program_lines

ZERO = Decimal("0.00")


class RentError(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def threshold_pct() -> Decimal:
    """Rent above this % of the city's median is a finding (settings.RENT_BENCHMARK_PCT)."""
    return Decimal(str(getattr(settings, "RENT_BENCHMARK_PCT", 150)))


def contract_in(c: RentContract) -> R.ContractIn:
    return R.ContractIn(c.start_date, c.end_date, c.annual_rent, c.cycle, c.timing,
                        c.escalation, c.escalation_pct, c.escalation_step)


def _snapshot(c: RentContract) -> dict:
    return {f: str(getattr(c, f)) for f in (
        "contract_no", "site_id", "landlord_id", "start_date", "end_date", "terminated_on",
        "annual_rent", "cycle", "timing", "escalation", "escalation_pct", "escalation_step",
        "deposit", "pass_through")}


# ---- contracts and their schedules ------------------------------------------------------

FIELDS = ("site", "site_id", "landlord", "landlord_id", "start_date", "end_date", "annual_rent", "cycle", "timing",
          "escalation", "escalation_pct", "escalation_step", "deposit", "pass_through")


@transaction.atomic
def save_contract(contract_no: str, *, user=None, reason: str = "", **values) -> RentContract:
    """Create the contract ``contract_no`` or change it (an upsert by its natural key), and
    (re)generate its schedule. A contract with payments keeps its paid items; only unpaid
    ones are regenerated."""
    c = RentContract.objects.filter(contract_no=contract_no).first()
    before = _snapshot(c) if c else None
    if c is None:
        c = RentContract(contract_no=contract_no, created_by=user if getattr(user, "pk", None)
                         else None)
    for k, v in values.items():
        if k not in FIELDS:
            raise TypeError(k)
        setattr(c, k, v)
    R.schedule(contract_in(c))  # validates
    c.save()
    after = _snapshot(c)
    if before != after:
        regenerate_schedule(c)
        record(user, "rent.contract", "rent_contract", c.contract_no, before, after,
               reason or "场租合同 rent contract")
    return c


def regenerate_schedule(c: RentContract) -> int:
    """The schedule of ``c`` from the domain rule; paid items stay, unpaid ones are
    replaced. Returns items written."""
    periods = R.schedule(contract_in(c))
    if c.terminated_on:
        periods = R.terminate(periods, c.terminated_on)
    paid = set(ScheduleItem.objects.filter(contract=c, payment__isnull=False)
               .values_list("seq", flat=True))
    ScheduleItem.objects.filter(contract=c, payment__isnull=True).delete()
    items = [ScheduleItem(contract=c, seq=p.seq, period_start=p.start, period_end=p.end,
                          due_date=p.due, amount=p.amount, year=p.year,
                          annual_rent=p.annual_rent)
             for p in periods if p.seq not in paid]
    ScheduleItem.objects.bulk_create(items)
    return len(items)


def periods_of(c: RentContract) -> list[R.Period]:
    """The contract's schedule as stored (terminations applied; prefetch ``items`` when
    reading many contracts)."""
    return [R.Period(i.seq, i.period_start, i.period_end, i.due_date, i.amount, i.year,
                     i.annual_rent, R.days(i.period_start, i.period_end))
            for i in sorted(c.items.all(), key=lambda i: i.seq) if not i.cancelled]


# ---- payments ---------------------------------------------------------------------------

@transaction.atomic
def record_payment(contract: RentContract, *, payment_no: str, paid_date: date,
                   seq: int | None = None, kind: str = RentPayment.Kind.RENT,
                   amount: Decimal | None = None, reference: str = "", user=None,
                   today: date | None = None, reason: str = "") -> RentPayment:
    """Pay schedule item ``seq`` (or the deposit) of ``contract`` to the landlord, post it and
    pass it through. Idempotent by ``payment_no``: the same payment again returns the stored
    one. Paying an item twice is refused."""
    done = RentPayment.objects.filter(payment_no=payment_no).first()
    if done:
        if done.contract_id != contract.pk or (seq is not None and done.item
                                               and done.item.seq != seq):
            raise RentError(f"付款编号{payment_no}已用于其他付款",
                            f"payment no {payment_no} is already used for another payment")
        return done
    site = contract.site
    item = None
    if kind == RentPayment.Kind.DEPOSIT:
        if contract.payments.filter(kind=RentPayment.Kind.DEPOSIT).exists():
            raise RentError("押金已付", "the deposit is already paid")
        amount = fen(amount if amount is not None else contract.deposit)
        account = "RENT_DEPOSIT"
    else:
        item = ScheduleItem.objects.select_for_update().filter(
            contract=contract, seq=seq, cancelled=False).first()
        if item is None:
            raise RentError(f"合同{contract.contract_no}没有第{seq}期",
                            f"contract {contract.contract_no} has no schedule item {seq}")
        if RentPayment.objects.filter(item=item).exists():
            raise RentError(f"第{seq}期已付", f"schedule item {seq} is already paid")
        if amount is not None and fen(amount) != item.amount:
            raise RentError(f"金额{amount}与应付{item.amount}不符",
                            f"amount {amount} differs from the {item.amount} due")
        amount = item.amount
        account = "RENT_ADVANCE"
    if amount <= 0:
        raise RentError("金额必须大于0", "the amount must be above 0")
    p = RentPayment.objects.create(
        payment_no=payment_no, contract=contract, item=item, kind=kind, amount=amount,
        paid_date=paid_date, reference=reference,
        created_by=user if getattr(user, "pk", None) else None)
    code = site.site_code
    post_entries([(paid_date, "RENT_PAY", payment_no,
                   f"场租付款 {contract.contract_no} {payment_no}",
                   [Posting(account, debit=amount, site=code), Posting("CASH", credit=amount)])],
                 user, site_ids={code: site.pk})
    record(user, "rent.pay", "rent_payment", payment_no, None,
           {"contract": contract.contract_no, "seq": seq, "kind": kind, "amount": str(amount),
            "paid_date": paid_date.isoformat()}, reason or "场租付款 rent paid")
    if item is not None:
        pass_through(p, user=user, today=today)
    return p


BATCH = 500   # payments per RENT entry on the bulk path


def record_payments(rows: list[dict], *, user=None, today: date | None = None,
                    reason: str = "") -> int:
    """Many rent payments at once (the import): ``rows`` of contract (a RentContract),
    payment_no, paid_date, seq, kind, reference — checked already (items exist, unpaid,
    amounts agree). Payment numbers already stored are skipped. Set-wise: one insert, one
    journal call, one audit insert, then the pass-through in entries of ``BATCH`` payments.
    Returns payments stored."""
    from towerledger.access.audit import record_many

    done = set()
    for part in parts(r["payment_no"] for r in rows):
        done |= set(RentPayment.objects.filter(OneOf("payment_no", part))
                    .values_list("payment_no", flat=True))
    rows = [r for r in rows if r["payment_no"] not in done]
    if not rows:
        return 0
    items = {}
    for part in parts(r["contract"].pk for r in rows):
        items.update({(i.contract_id, i.seq): i for i in ScheduleItem.objects.filter(
            OneOf("contract_id", part), cancelled=False)})
    uid = user if getattr(user, "pk", None) else None
    payments, entries = [], []
    for r in rows:
        c = r["contract"]
        deposit = (r.get("kind") or "RENT") == RentPayment.Kind.DEPOSIT
        item = None if deposit else items[(c.pk, r["seq"])]
        amount = fen(r.get("amount") if deposit and r.get("amount") is not None
                     else c.deposit if deposit else item.amount)
        if amount <= 0:
            raise RentError(f"付款{r['payment_no']}金额必须大于0",
                            f"payment {r['payment_no']}: the amount must be above 0")
        payments.append(RentPayment(
            payment_no=r["payment_no"], contract=c, item=item,
            kind="DEPOSIT" if deposit else "RENT", amount=amount, paid_date=r["paid_date"],
            reference=r.get("reference") or "", created_by=uid))
        code = c.site.site_code
        entries.append((r["paid_date"], "RENT_PAY", r["payment_no"],
                        f"场租付款 {c.contract_no} {r['payment_no']}",
                        [Posting("RENT_DEPOSIT" if deposit else "RENT_ADVANCE", debit=amount,
                                 site=code), Posting("CASH", credit=amount)]))
    with transaction.atomic():
        RentPayment.objects.bulk_create(payments, batch_size=2000)
        post_entries(entries, user, site_ids={r["contract"].site.site_code:
                                              r["contract"].site_id for r in rows})
        record_many(user, "rent.pay", "rent_payment", [
            (p.payment_no, None, {"contract": p.contract.contract_no,
                                  "seq": p.item.seq if p.item else None, "kind": p.kind,
                                  "amount": str(p.amount),
                                  "paid_date": p.paid_date.isoformat()})
            for p in payments], reason or "场租付款 rent paid")
        stored = []
        for part in parts(p.payment_no for p in payments):
            stored += RentPayment.objects.filter(OneOf("payment_no", part),
                                                 item__isnull=False).select_related(
                "contract__site", "item")
        stored.sort(key=lambda p: p.payment_no)
        for start in range(0, len(stored), BATCH):
            pass_through_many(stored[start:start + BATCH], user=user, today=today)
    return len(payments)


def tenants_of(site_ids, start: date, end: date) -> tuple[dict[int, list[R.TenantIn]], dict]:
    """The tenancies of ``site_ids`` overlapping ``start..end`` by site, with their dated
    ratios and the spans of their lump-sum site fees (their rent share is then the
    tower's); and each tenancy's operator id."""
    from towerledger.sites.models import Tenancy

    out: dict[int, list[R.TenantIn]] = {s: [] for s in site_ids}
    operators = {}
    ts = (Tenancy.objects.filter(site_id__in=list(site_ids), start_date__lte=end)
          .exclude(end_date__lt=start).select_related("operator")
          .prefetch_related("ratios", "site_fee_agreements"))
    for t in ts:
        out[t.site_id].append(R.TenantIn(
            t.pk, t.tenancy_id, t.operator.code, t.start_date, t.end_date,
            tuple((r.effective_from, r.agreed_ratio) for r in t.ratios.all()), t.agreed_ratio,
            tuple((a.effective_from, a.effective_to) for a in t.site_fee_agreements.all())))
        operators[t.pk] = t.operator_id
    return out, operators


def _charges(payment: RentPayment, tenants: list[R.TenantIn],
             operators: dict) -> tuple[list[Charge], list]:
    c, item = payment.contract, payment.item
    period = R.Period(item.seq, item.period_start, item.period_end, item.due_date, item.amount,
                      item.year, item.annual_rent, R.days(item.period_start, item.period_end))
    shares, flags = R.split_payment(item.amount, item.period_start, item.period_end,
                                    c.pass_through, tenants)
    total = R.days(item.period_start, item.period_end)
    flags = {k: v for k, v in flags.items() if v}
    charges, keys = [], []
    for s in shares:
        if not s.amount:
            continue
        ex = R.explain(s, contract_no=c.contract_no, period=period, method=c.pass_through,
                       total_days=total, flags=flags)
        tower = s.key == R.TOWER
        charges.append(Charge(
            site_id=c.site_id, amount=s.amount, period_start=item.period_start,
            period_end=item.period_end, explanation=ex,
            tenancy_id=None if tower else s.key,
            operator_id=None if tower else operators[s.key],
            mode="" if tower else SettlementMode.ON_BEHALF,
            share=R.round_share(s.share), active_days=s.active_days,
            extra={"payment_no": payment.payment_no}))
        keys.append((payment, None if tower else s.key))
    return charges, keys


def pass_through_many(payments: list[RentPayment], *, user=None,
                      today: date | None = None) -> int:
    """Split rent payments over the tenancies active in their periods and push their RENT
    lines (the tower's parts tower-borne) in one entry per batch. Payments already passed
    (they have lines) are skipped. Returns lines pushed."""
    todo = [p for p in payments if p.item_id and not p.lines.exists()]
    if not todo:
        return 0
    today = today or timezone.localdate()
    lo = min(p.item.period_start for p in todo)
    hi = max(p.item.period_end for p in todo)
    tenants, operators = tenants_of({p.contract.site_id for p in todo}, lo, hi)
    charges, keys = [], []
    for p in todo:
        ch, ks = _charges(p, tenants[p.contract.site_id], operators)
        charges += ch
        keys += ks
    first = todo[0]
    ref = (f"RENT:{first.payment_no}" if len(todo) == 1
           else f"RENT:{first.payment_no}+{len(todo) - 1}")
    memo = (f"场租 {first.contract.contract_no} #{first.item.seq}" if len(todo) == 1
            else f"场租 {len(todo)} 笔付款 payments")
    with transaction.atomic():
        lines = push_program_lines("RENT", charges, user=user, reference=ref[:120], memo=memo,
                                   today=today)
        RentLine.objects.bulk_create([RentLine(payment=p, line=ln, tenancy_id=k)
                                      for ln, (p, k) in zip(lines, keys, strict=True)])
    return len(lines)


def pass_through(payment: RentPayment, *, user=None, today: date | None = None) -> int:
    """One payment's RENT lines (``pass_through_many``)."""
    return pass_through_many([payment], user=user, today=today)


# ---- decommissioning (the checklist asks these) ------------------------------------------

def _active_contracts(site_id: int):
    return RentContract.objects.filter(site_id=site_id, terminated_on__isnull=True)


def open_items(site_id: int, today: date | None = None) -> list[tuple[str, str]]:
    """What is still due for the site in rent, as (中文, English) sentences: unpaid schedule
    items due on or before today, and contracts not terminated (ending after today)."""
    today = today or timezone.localdate()
    out = []
    due = (ScheduleItem.objects.filter(contract__site_id=site_id, cancelled=False,
                                       due_date__lte=today, payment__isnull=True)
           .select_related("contract").order_by("due_date", "contract__contract_no", "seq"))
    for i in due:
        out.append((f"场租合同{i.contract.contract_no}第{i.seq}期（{i.period_start}至"
                    f"{i.period_end}）应付{i.amount}元，{i.due_date}到期未付",
                    f"rent contract {i.contract.contract_no} item {i.seq} ({i.period_start}.."
                    f"{i.period_end}): {i.amount} yuan due {i.due_date}, unpaid"))
    paid_past = (ScheduleItem.objects.filter(contract__site_id=site_id,
                                             contract__terminated_on__isnull=False,
                                             payment__isnull=False)
                 .select_related("contract").order_by("contract__contract_no", "seq"))
    for i in paid_past:
        on = i.contract.terminated_on
        if i.period_end <= on:
            continue
        back = R.refund(i.amount, i.period_start, i.period_end, on)
        out.append((f"场租合同{i.contract.contract_no}第{i.seq}期已付至{i.period_end}，"
                    f"{on}终止后业主应退还{back}元",
                    f"rent contract {i.contract.contract_no} item {i.seq} is paid to "
                    f"{i.period_end}; terminated on {on}, the landlord owes back {back} yuan"))
    for c in _active_contracts(site_id).filter(end_date__gt=today).order_by("contract_no"):
        out.append((f"场租合同{c.contract_no}仍在执行（至{c.end_date}），未终止",
                    f"rent contract {c.contract_no} is active (until {c.end_date}), "
                    "not terminated"))
    return out


@transaction.atomic
def terminate_contracts(site_id: int, on: date, user, reason: str) -> int:
    """Terminate the site's contracts still in force after ``on`` (``on`` is their last day):
    items after it are cancelled, the item holding it is prorated by days (an unpaid one;
    a paid one stays as paid). Idempotent: a terminated contract is left alone. Returns the
    contracts terminated."""
    n = 0
    for c in (_active_contracts(site_id).filter(end_date__gt=on).select_for_update()
              .order_by("contract_no")):
        before = _snapshot(c)
        c.terminated_on = on
        c.save(update_fields=["terminated_on"])
        items = c.items.filter(payment__isnull=True, cancelled=False)
        items.filter(period_start__gt=on).update(cancelled=True)
        for i in items.filter(period_start__lte=on, period_end__gt=on):
            (p,) = R.terminate([R.Period(i.seq, i.period_start, i.period_end, i.due_date,
                                         i.amount, i.year, i.annual_rent, 0)], on)
            i.period_end, i.due_date, i.amount = p.end, p.due, p.amount
            i.save(update_fields=["period_end", "due_date", "amount"])
        record(user, "rent.terminate", "rent_contract", c.contract_no, before, _snapshot(c),
               reason or "终止场租合同 rent contract terminated")
        n += 1
    return n


# ---- lump-sum site fees -----------------------------------------------------------------

def site_fee_lines(month: date, user=None, today: date | None = None) -> int:
    """场地费包干: each agreement's line for ``month``, its monthly fee prorated by the days
    the tenancy is active and the agreement in force (half-up to the fen). One line per
    tenancy and month (a tenancy with two agreements in one month takes the later one's fee
    for its days, the earlier's for its own: one line, summed). Returns lines created."""
    from towerledger.access.scope import writable

    today = today or timezone.localdate()
    first = month.replace(day=1)
    last = month_end(first)
    done = Line.objects.filter(kind=Line.Kind.SITE_FEE_LUMP_SUM, month=first).values(
        "tenancy_id")
    ags = (writable(user, SiteFeeAgreement.objects.all())
           .filter(effective_from__lte=last).exclude(effective_to__lt=first)
           .exclude(tenancy_id__in=done)
           .select_related("tenancy__operator", "tenancy__site")
           .order_by("tenancy__tenancy_id", "effective_from"))
    by_tenancy: dict[int, list] = {}
    for a in ags:
        by_tenancy.setdefault(a.tenancy_id, []).append(a)
    charges, mapping = [], []
    mdays = R.days(first, last)
    for group in by_tenancy.values():
        t = group[0].tenancy
        tend = min(filter(None, (t.end_date, t.site.decommission_date)), default=None)
        amount, act, parts = Decimal(0), 0, []
        a_from, a_to = None, None
        for a in group:
            lo = max(first, a.effective_from, t.start_date)
            hi = min(x for x in (last, a.effective_to, tend) if x)
            if hi < lo:
                continue
            d = R.days(lo, hi)
            part = fen(a.monthly_fee * d / mdays)
            amount += part
            act += d
            parts.append(f"{a.monthly_fee}×{d}/{mdays}={part}")
            a_from, a_to = min(a_from or lo, lo), max(a_to or hi, hi)
        if not act or not amount:
            continue
        fee = group[-1].monthly_fee
        zh = (f"{t.operator.code}租户{t.tenancy_id}场地费包干：{first:%Y-%m}共{mdays}天，"
              f"计费{act}天，月包干额{fee}元，{'；'.join(parts)}，合计{amount}元（四舍五入到分）。")
        en = (f"Lump-sum site fee of {t.operator.code} tenancy {t.tenancy_id} for "
              f"{first:%Y-%m} ({mdays} days): {act} days charged, monthly {fee} yuan, "
              f"{'; '.join(parts)}, total {amount} yuan (half-up to the fen).")
        charges.append(Charge(
            site_id=t.site_id, amount=amount, period_start=a_from, period_end=a_to,
            explanation={"tenancy_id": t.tenancy_id, "month": f"{first:%Y-%m}",
                         "days": mdays, "active_days": act, "monthly": str(fee),
                         "amount": str(amount), "text_zh": zh, "text_en": en},
            tenancy_id=t.pk, operator_id=t.operator_id, mode=SettlementMode.ON_BEHALF,
            active_days=act))
        mapping.append(group[-1])
    if not charges:
        return 0
    with transaction.atomic():
        lines = push_program_lines("SITE_FEE_LUMP_SUM", charges, user=user,
                                   reference=f"SITE_FEE:{first:%Y-%m}:{today.isoformat()}:"
                                   f"{charges[0].tenancy_id}",
                                   memo=f"场地费包干 {first:%Y-%m}", today=today, month=first)
        SiteFeeLine.objects.bulk_create([SiteFeeLine(agreement=a, month=first, line=ln)
                                         for a, ln in zip(mapping, lines, strict=True)])
    return len(lines)


# ---- findings, renewals, overdue --------------------------------------------------------

def in_force(today: date):
    return RentContract.objects.filter(start_date__lte=today, end_date__gte=today).filter(
        Q(terminated_on__isnull=True) | Q(terminated_on__gte=today))


def city_medians(today: date) -> dict[int, Decimal]:
    """Median annual rent per site of each city, over contracts in force on ``today`` at
    their rent of that day (escalation applied; a site with two contracts counts their
    sum)."""
    per_site: dict[tuple[int, int], Decimal] = {}
    for c in in_force(today).select_related("site__county"):
        key = (c.site.county.city_id, c.site_id)
        per_site[key] = per_site.get(key, ZERO) + R.current_rent(contract_in(c), today)
    by_city: dict[int, list] = {}
    for (city, _), rent in per_site.items():
        by_city.setdefault(city, []).append(rent)
    return {city: R.median(v) for city, v in by_city.items()}


@transaction.atomic
def refresh_findings(today: date | None = None, threshold: Decimal | None = None) -> int:
    """Store a finding for every contract in force whose annual rent is above ``threshold``
    % (default the setting, 150) of its city's median; a finding no longer true is resolved.
    Returns open findings."""
    today = today or timezone.localdate()
    threshold = threshold if threshold is not None else threshold_pct()
    medians = city_medians(today)
    hits = set()
    for c in in_force(today).select_related("site__county"):
        med = medians.get(c.site.county.city_id)
        rent = R.current_rent(contract_in(c), today)
        if med and R.above_benchmark(rent, med, threshold):
            ratio = (rent / med).quantize(Decimal("0.0001"))
            RentFinding.objects.update_or_create(
                contract=c, kind="ABOVE_BENCHMARK",
                defaults={"annual_rent": rent, "median": med, "ratio": ratio,
                          "threshold": threshold, "found_on": today, "resolved": False})
            hits.add(c.pk)
    RentFinding.objects.exclude(contract_id__in=hits).update(resolved=True)
    return len(hits)


def renewals(qs, today: date, within_days: int = 90):
    """Contracts in force ending within ``within_days`` days."""
    return (qs.filter(terminated_on__isnull=True, end_date__gte=today,
                      end_date__lte=today + timedelta(days=within_days))
            .order_by("end_date", "contract_no"))


def overdue(qs_items, today: date):
    """Schedule items due on or before ``today`` and unpaid."""
    return (qs_items.filter(cancelled=False, due_date__lte=today, payment__isnull=True)
            .order_by("due_date", "contract__contract_no", "seq"))


# ---- the month's figures ----------------------------------------------------------------

def month_figures(month: date, as_of: date) -> list[dict]:
    """Per city: rent paid in the month, passed through (RENT lines to operators) and borne
    (tower-borne RENT lines) of the month's payments, overdue as of the month's end, site
    fees charged in the month, the rent cost of the sites with site fees that month and the
    gap (rent cost − site fees, borne by the tower)."""
    first, last = month.replace(day=1), month_end(month)
    rows: dict[int, dict] = {}

    def row(city):
        return rows.setdefault(city, {"paid": ZERO, "passed_through": ZERO, "borne": ZERO,
                                      "overdue": ZERO, "overdue_items": 0, "site_fees": ZERO,
                                      "site_fee_rent": ZERO, "site_fee_gap": ZERO})
    pays = RentPayment.objects.filter(paid_date__range=(first, last), kind="RENT")
    for city, s in pays.values_list("contract__site__county__city_id").annotate(s=Sum("amount")):
        row(city)["paid"] += s
    lines = RentLine.objects.filter(payment__in=pays).values_list(
        "line__city_id", "line__operator_id", "line__cost_share")
    for city, op, cost in lines:
        row(city)["passed_through" if op else "borne"] += cost
    for city, amount in (ScheduleItem.objects.filter(cancelled=False, due_date__lte=last)
                         .exclude(payment__paid_date__lte=last)
                         .values_list("contract__site__county__city_id", "amount")):
        row(city)["overdue"] += amount
        row(city)["overdue_items"] += 1
    fee_lines = Line.objects.filter(kind=Line.Kind.SITE_FEE_LUMP_SUM, month=first)
    for city, cost in fee_lines.values_list("city_id", "cost_share"):
        row(city)["site_fees"] += cost
    for c in (RentContract.objects.filter(site_id__in=fee_lines.values("site_id"))
              .select_related("site__county")
              .prefetch_related("items")):
        cost = R.month_cost(periods_of(c), first, last)
        row(c.site.county.city_id)["site_fee_rent"] += cost
    for r in rows.values():
        r["site_fee_gap"] = r["site_fee_rent"] - r["site_fees"]
    return [{"city_id": city, **r} for city, r in sorted(rows.items())]


@transaction.atomic
def store_month(month: date, as_of: date) -> int:
    first = month.replace(day=1)
    rows = month_figures(first, as_of)
    RentMonth.objects.filter(month=first).delete()
    RentMonth.objects.bulk_create([RentMonth(month=first, **r) for r in rows])
    return len(rows)


def site_fee_gaps(month: date, qs_lines=None) -> list[dict]:
    """Per site with site fees in ``month``: the site fees, the month's rent cost of the
    site's contracts and the gap the tower bears."""
    first, last = month.replace(day=1), month_end(month)
    fee_lines = (qs_lines if qs_lines is not None else Line.objects.all()).filter(
        kind=Line.Kind.SITE_FEE_LUMP_SUM, month=first)
    fees: dict[int, Decimal] = {}
    for site, cost in fee_lines.values_list("site_id", "cost_share"):
        fees[site] = fees.get(site, ZERO) + cost
    out = []
    contracts = (RentContract.objects.filter(site_id__in=fee_lines.values("site_id"))
                 .select_related("site")
                 .prefetch_related("items"))
    cost_of: dict[int, Decimal] = {}
    codes = {}
    for c in contracts:
        cost_of[c.site_id] = cost_of.get(c.site_id, ZERO) + R.month_cost(periods_of(c),
                                                                         first, last)
        codes[c.site_id] = c.site.site_code
    from towerledger.sites.models import Site

    codes.update(dict(Site.objects.filter(pk__in=fee_lines.values("site_id"))
                      .values_list("pk", "site_code")))
    for site, fee in fees.items():
        cost = cost_of.get(site, ZERO)
        out.append({"site_code": codes[site], "site_fees": fee, "rent_cost": cost,
                    "gap": cost - fee})
    return sorted(out, key=lambda r: r["site_code"])


__all__ = ["open_items", "terminate_contracts", "save_contract", "record_payment",
           "pass_through", "site_fee_lines", "refresh_findings", "store_month"]


@transaction.atomic
def save_site_fee(tenancy, monthly_fee: Decimal, effective_from: date,
                  effective_to: date | None = None, *, user=None,
                  reason: str = "") -> SiteFeeAgreement:
    """A tenancy's lump-sum site fee from ``effective_from`` (upsert by tenancy and date)."""
    if monthly_fee < 0:
        raise RentError("月场地费不能为负", "the monthly fee must not be negative")
    if effective_to and effective_to < effective_from:
        raise RentError("失效日早于生效日", "effective_to is before effective_from")
    a, created = SiteFeeAgreement.objects.get_or_create(
        tenancy=tenancy, effective_from=effective_from,
        defaults={"monthly_fee": fen(monthly_fee), "effective_to": effective_to,
                  "created_by": user if getattr(user, "pk", None) else None})
    before = None if created else {"monthly_fee": str(a.monthly_fee),
                                   "effective_to": str(a.effective_to)}
    a.monthly_fee, a.effective_to = fen(monthly_fee), effective_to
    a.save(update_fields=["monthly_fee", "effective_to"])
    record(user, "rent.site_fee", "site_fee_agreement",
           f"{tenancy.tenancy_id}@{effective_from}", before,
           {"monthly_fee": str(a.monthly_fee), "effective_to": str(effective_to)},
           reason or "场地费包干 site fee")
    return a
