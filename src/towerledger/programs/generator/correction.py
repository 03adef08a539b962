"""更正 Correct a paid generator run: its litres, fuel price, labour, transport, site or paid
date, after the payment entry (Dr GEN_ADVANCE / Cr CASH) was posted at the old cost.

The journal is never rewritten (DOMAIN.md §4): a correction posts a reversal of the payment
entry standing for the run (read from the journal: what is posted, at the site it was
posted), then the payment at the new cost and site (when the run is still paid), each with
the run's next payment version in its reference (services.payment_reference), updates the
run, re-audits its sites and writes one audit-log entry with before, after and reason — all
in one transaction. The same correction again changes nothing. A billed run is refused: its
money is in GENERATOR lines already pushed, corrected by disputing them (→ adjustment)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.access.scope import writable
from towerledger.domain.errors import ErrorCode
from towerledger.domain.generator import run_cost
from towerledger.domain.journal import Posting
from towerledger.ledger.models import JournalLine
from towerledger.ledger.services import post_entries
from towerledger.programs.generator import services
from towerledger.programs.generator.kinds import BILLED_HOW
from towerledger.programs.generator.models import Billing, Outage, Run
from towerledger.programs.generator.services import GeneratorError
from towerledger.sites.models import Site

# (field, 中文, decimal places, digits before the point) of the money a correction changes
AMOUNTS = (("litres", "耗油量", 2, 8), ("fuel_price", "油价", 4, 4),
           ("labour_cost", "人工费", 2, 12), ("transport_cost", "运输费", 2, 12))


@dataclass
class Correction:
    run: Run
    changed: bool = False
    references: list = field(default_factory=list)   # journal entries posted
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)


def _facts(run: Run, site_code: str, outage_no: str | None) -> dict:
    return {"litres": run.litres, "fuel_price": run.fuel_price,
            "labour_cost": run.labour_cost, "transport_cost": run.transport_cost,
            "cost": run.cost, "site_code": site_code, "outage_no": outage_no,
            "paid_date": run.paid_date}


def _amount(name: str, zh: str, value, places: int, whole: int) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        d = None
    if d is None or not d.is_finite() or d < 0 or d != d.quantize(Decimal(1).scaleb(-places)) \
            or d >= Decimal(10) ** whole:
        raise GeneratorError(f"{zh}（{name}）须为不小于 0、至多 {places} 位小数的数：{value}",
                             f"{name} must be a number ≥ 0 with at most {places} decimals: "
                             f"{value}")
    return d.quantize(Decimal(1).scaleb(-places))


def standing_payment(run: Run) -> tuple[Decimal, int | None] | None:
    """(amount, site id) of GEN_ADVANCE in the payment entry standing for ``run`` (its
    current payment version), or None when none is posted (unpaid, or a cost of 0)."""
    rows = list(JournalLine.objects.filter(
        entry__kind="GEN_PAY", account="GEN_ADVANCE",
        entry__reference=services.payment_reference(run.run_no, run.payment_version))
        .values_list("debit", "credit", "site_id"))
    if not rows:
        return None
    return sum((d - c for d, c, _ in rows), Decimal("0.00")), rows[0][2]


def _where(run: Run, user, site_code: str | None, outage_no: str | None):
    """The (site, outage) the corrected run is at: an outage named gives its site (a site
    named too must agree); a new site alone keeps the run's outage only if it is there."""
    outage = run.outage
    if outage_no:
        outage = writable(user, Outage.objects.select_related("site")).filter(
            outage_no=outage_no).first()
        if outage is None:
            raise GeneratorError(f"停电编号 {outage_no} 不存在或不在您的范围内",
                                 f"no outage {outage_no} within your scope",
                                 ErrorCode.OUT_OF_SCOPE)
        if site_code and site_code != outage.site.site_code:
            raise GeneratorError(
                f"停电 {outage_no} 属于站址 {outage.site.site_code}，不是 {site_code}",
                f"outage {outage_no} is at site {outage.site.site_code}, not {site_code}")
        return outage.site, outage
    if not site_code or site_code == run.site.site_code:
        return run.site, outage
    site = writable(user, Site.objects.all()).filter(site_code=site_code).first()
    if site is None:
        raise GeneratorError(f"站址编码 {site_code} 不存在或不在您的范围内",
                             f"no site {site_code} within your scope", ErrorCode.OUT_OF_SCOPE)
    if outage is not None and outage.site_id != site.pk:
        raise GeneratorError(
            f"发电单 {run.run_no} 的停电 {outage.outage_no} 在站址 {outage.site.site_code}："
            f"改到站址 {site_code} 请同时填写该站址的停电编号",
            f"run {run.run_no}'s outage {outage.outage_no} is at site {outage.site.site_code}:"
            f" to move it to {site_code} give that site's outage_no too")
    return site, outage


def correct_run(run, user, *, reason: str, litres, fuel_price, labour_cost=0,
                transport_cost=0, paid_date: date | None, site_code: str | None = None,
                outage_no: str | None = None, today: date | None = None) -> Correction:
    """更正 a paid, unbilled run within ``user``'s write scope (``run``: a Run or its pk).
    ``paid_date`` None un-pays it; ``site_code`` / ``outage_no`` None keep its own."""
    reason = (reason or "").strip()
    if not reason:
        raise GeneratorError("请填写更正原因", "a reason is required")
    pk = run.pk if isinstance(run, Run) else run
    if not writable(user, Run.objects.filter(pk=pk)).exists():
        raise GeneratorError("无此发电记录或不在您的范围内", "no such run within your scope",
                             ErrorCode.OUT_OF_SCOPE)
    amounts = {name: _amount(name, zh, value, places, whole) for (name, zh, places, whole), value
               in zip(AMOUNTS, (litres, fuel_price, labour_cost or 0, transport_cost or 0),
                      strict=True)}
    today = today or timezone.localdate()
    with transaction.atomic():
        run = Run.objects.select_for_update(of=("self",)).select_related(
            "site", "outage__site").get(pk=pk)
        if Billing.objects.filter(run_id=run.pk).exists():
            raise GeneratorError(
                f"发电单 {run.run_no} 已出账，不能在此更正：{BILLED_HOW[0]}",
                f"run {run.run_no} is billed and cannot be corrected here: {BILLED_HOW[1]}",
                ErrorCode.CONFLICT)
        if run.paid_date is None:
            raise GeneratorError(
                f"发电单 {run.run_no} 未付款：请通过导入或录入直接修改",
                f"run {run.run_no} is not paid: change it by a file or the entry form",
                ErrorCode.CONFLICT)
        site, outage = _where(run, user, site_code, outage_no)
        before = _facts(run, run.site.site_code, run.outage.outage_no if run.outage else None)
        old_site_id = run.site_id
        for name, value in amounts.items():
            setattr(run, name, value)
        run.cost = run_cost(run.litres, run.fuel_price, run.labour_cost, run.transport_cost)
        run.site, run.outage, run.paid_date = site, outage, paid_date
        after = _facts(run, site.site_code, outage.outage_no if outage else None)
        result = Correction(run=run, before=before, after=after)
        if after == before:
            return result    # the same correction again: nothing to do
        standing = standing_payment(run)
        wanted = (run.cost, site.pk) if paid_date and run.cost else None
        if standing != wanted and not (standing is None and wanted is None):
            version = run.payment_version + 1
            entries, codes = [], {site.site_code: site.pk}
            if standing:
                amount, old_site = standing
                old_code = Site.objects.filter(pk=old_site).values_list(
                    "site_code", flat=True).first() if old_site else None
                if old_code:
                    codes[old_code] = old_site
                entries.append((today, "GEN_PAY", services.reversal_reference(run.run_no,
                                                                              version),
                                f"油机发电支付冲回 generator payment reversed {run.run_no}",
                                [Posting("CASH", debit=amount),
                                 Posting("GEN_ADVANCE", credit=amount, site=old_code)]))
            if wanted:
                entries.append((today, "GEN_PAY", services.payment_reference(run.run_no,
                                                                             version),
                                f"油机发电支付（更正）generator run paid, corrected {run.run_no}",
                                [Posting("GEN_ADVANCE", debit=run.cost, site=site.site_code),
                                 Posting("CASH", credit=run.cost)]))
            post_entries(entries, user, site_ids=codes)
            run.payment_version = version
            result.references = [e[2] for e in entries]
        run.save(update_fields=["litres", "fuel_price", "labour_cost", "transport_cost",
                                "cost", "site", "outage", "paid_date", "payment_version"])
        services.audit({old_site_id, site.pk})
        record(user, "generator.correct", "generator_run", run.run_no, before,
               after | {"entries": result.references}, reason)
        result.changed = True
    return result

