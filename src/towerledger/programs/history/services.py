"""历史数据 Opening balances: a legacy ledger taken over (DOMAIN.md §7), its reconciliation
and sign-off, and the collection drives (回收攻坚).

Storing a legacy row (``store_legacy``), in one transaction:

* its confirmed part becomes an OPENING line pushed on the legacy push date and confirmed
  on the legacy confirm date; its unconfirmed part an OPENING line pushed on the push date
  and still pending (confirm-by date from the operator's agreement), both of the legacy
  month, through ``settlement.program_lines`` (Dr RECEIVABLE / Dr UNCONFIRMED, Cr OPENING);
* the confirmed lines go on a legacy statement per operator and city (confirmed: the
  legacy ledger stated them), so a new month's statement does not carry them again;
* its write-offs become applications dated on the legacy write-off date against a legacy
  receipt per operator, city and write-off date (received on that date, so every
  as-of-date figure reads the original date): Dr OPENING / Cr UNAPPLIED for the receipt
  (no cash: that cash came in before the take-over), Dr UNAPPLIED / Cr RECEIVABLE for the
  write-off.

Net: Dr RECEIVABLE (confirmed outstanding) + Dr UNCONFIRMED (unconfirmed outstanding) /
Cr OPENING (outstanding); legacy unapplied cash Dr OPENING / Cr UNAPPLIED. The journal's
entries are dated on the take-over day; the lines, applications and receipts carry the
original dates the KPIs read.
"""

import hashlib
from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.collection.models import Receipt, Statement
from towerledger.db.bulk import Counts, chunked, copy_insert
from towerledger.domain import ageing as ageing_rule
from towerledger.domain import opening
from towerledger.domain.errors import DomainError
from towerledger.domain.journal import Posting
from towerledger.domain.months import month_end
from towerledger.ledger.models import JournalLine
from towerledger.ledger.services import post_entries
from towerledger.org.models import City, Operator
from towerledger.programs.history.models import (
    CollectionTarget,
    DriveMonth,
    LegacyRow,
    LegacyUnapplied,
    SignOff,
)
from towerledger.settlement import receivables
from towerledger.settlement.models import Application, Line
from towerledger.settlement.program_lines import Charge, push_program_lines
from towerledger.sites.models import Site

ZERO = Decimal("0.00")
DEFAULT_BATCH = "LEGACY"
LEGACY_REFERENCE = "历史数据 legacy ledger"


class HistoryError(DomainError):
    """A refusal of the history program: ``HistoryError(zh, en, code)``."""


def noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def q(x) -> Decimal:
    return Decimal(str(x or 0)).quantize(ZERO)


def legacy_of(r: dict) -> opening.LegacyRow:
    """A parsed file record as the domain's row."""
    return opening.LegacyRow(
        month=r["month"], pushed=r["pushed"], confirmed=r["confirmed"] or ZERO,
        written_off=r["written_off"] or ZERO, outstanding=r["outstanding"],
        push_date=r["push_date"], confirm_date=r.get("confirm_date"),
        write_off_date=r.get("write_off_date"))


def same_figures(row: LegacyRow, r: dict) -> bool:
    """Does the stored row say what the record says?"""
    f = legacy_of(r)
    return (row.pushed, row.confirmed, row.written_off, row.outstanding, row.push_date,
            row.confirm_date, row.write_off_date) == (
        f.pushed, f.confirmed, f.written_off, f.outstanding, f.push_date, f.confirm_date,
        f.write_off_date)


def existing_rows(records) -> dict[tuple, LegacyRow]:
    """Stored rows by (site_code, operator, month) for the records' sites."""
    out = {}
    for part in chunked(list({r["site_code"] for r in records})):
        for row in LegacyRow.objects.filter(site__site_code__in=part).select_related(
                "site", "operator"):
            out[row.site.site_code, row.operator.code, row.month] = row
    return out


def _digest(keys) -> str:
    return hashlib.sha1("|".join(sorted(keys)).encode()).hexdigest()[:12]


def store_legacy(records, user=None, progress=None, today: date | None = None) -> Counts:
    """Store the legacy rows not stored yet (see the module's docstring); a row already
    stored is unchanged (``check`` refuses one stored with other figures)."""
    today = today or timezone.localdate()
    done = existing_rows(records)
    new = [r for r in records if (r["site_code"], r["operator"], r["month"]) not in done]
    if not new:
        return Counts(unchanged=len(records))
    sites = {s["site_code"]: s for s in Site.objects.filter(
        site_code__in={r["site_code"] for r in new}).values(
        "pk", "site_code", "county__city_id", "county__city__province_id")}
    ops = dict(Operator.objects.values_list("code", "pk"))
    uid = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        # lines, one program push per batch and legacy month
        by_month = defaultdict(list)
        for r in new:
            by_month[(r.get("batch") or DEFAULT_BATCH, r["month"])].append(r)
        rows = []
        for (batch, month), group in sorted(by_month.items()):
            charges, owners = [], []
            for r in group:
                site = sites[r["site_code"]]
                row = LegacyRow(
                    batch=batch, site_id=site["pk"], operator_id=ops[r["operator"]],
                    city_id=site["county__city_id"], month=month, pushed=r["pushed"],
                    confirmed=r["confirmed"] or ZERO, written_off=r["written_off"] or ZERO,
                    outstanding=r["outstanding"], push_date=r["push_date"],
                    confirm_date=r.get("confirm_date"),
                    write_off_date=r.get("write_off_date"), imported_by=uid)
                rows.append(row)
                for part in opening.parts(legacy_of(r)):
                    charges.append(_charge(row, r, part, batch))
                    owners.append((row, part))
            reference = f"OPENING:{batch}:{month:%Y%m}:" + _digest(
                f"{r['site_code']}/{r['operator']}" for r in group)
            lines = push_program_lines(
                Line.Kind.OPENING, charges, user=user, reference=reference,
                memo=f"期初余额 {batch} {month:%Y-%m} opening balances", today=today,
                month=month)
            for (row, part), line in zip(owners, lines, strict=True):
                if part.confirmed_on is None:
                    row.pending_line = line
                else:
                    row.confirmed_line = line
        _state_legacy(rows, user, today)
        receipts = _write_offs(rows, user, today)
        LegacyRow.objects.bulk_create(rows, batch_size=2000)
        pushed = sum((r.pushed for r in rows), ZERO)
        record(user, "history.take_over", "legacy_ledger", ",".join(sorted({r.batch for r in rows})),
               None, {"rows": len(rows), "pushed": pushed,
                      "outstanding": sum((r.outstanding for r in rows), ZERO),
                      "receipts": receipts}, "历史数据接管 legacy ledger taken over")
    if progress:
        progress(len(records))
    return Counts(created=len(rows), unchanged=len(records) - len(rows))


def _charge(row: LegacyRow, r: dict, part: opening.Part, batch: str) -> Charge:
    month = r["month"]
    state = (f"{part.confirmed_on} 确认" if part.confirmed_on else "未确认")
    return Charge(
        site_id=row.site_id, operator_id=row.operator_id, amount=part.amount,
        period_start=month, period_end=month_end(month), push_date=r["push_date"],
        confirmed_on=part.confirmed_on,
        explanation={
            "text_zh": f"历史数据 {batch}：{month:%Y-%m} 推送 {r['push_date']}，{state}，"
                       f"本行 {part.amount} 元（原账推送 {r['pushed']}，已核销 "
                       f"{row.written_off}，欠费 {r['outstanding']}）",
            "text_en": f"Legacy ledger {batch}: {month:%Y-%m} pushed {r['push_date']}, "
                       f"{'confirmed ' + str(part.confirmed_on) if part.confirmed_on else 'not confirmed'}, "
                       f"this line {part.amount} (legacy pushed {r['pushed']}, written off "
                       f"{row.written_off}, outstanding {r['outstanding']})"},
        extra={"legacy": {"batch": batch, "month": f"{month:%Y-%m}",
                          "pushed": str(r["pushed"]), "confirmed": str(row.confirmed),
                          "written_off": str(row.written_off),
                          "outstanding": str(r["outstanding"]),
                          "push_date": str(r["push_date"]),
                          "confirm_date": str(r.get("confirm_date") or ""),
                          "write_off_date": str(r.get("write_off_date") or "")}})


def _next_number(prefix: str, model, field: str) -> str:
    n = model.objects.filter(**{f"{field}__startswith": prefix}).count() + 1
    return f"{prefix}{n:02d}"


def _state_legacy(rows: list[LegacyRow], user, today: date):
    """The confirmed legacy lines on one confirmed legacy statement per operator and city."""
    groups = defaultdict(list)
    for row in rows:
        if row.confirmed_line is not None:
            groups[(row.operator_id, row.city_id, row.batch)].append(row.confirmed_line)
    if not groups:
        return
    codes = dict(Operator.objects.values_list("pk", "code"))
    province = dict(City.objects.values_list("pk", "province_id"))
    now = timezone.now()
    for (op, city, batch), lines in sorted(groups.items()):
        total = sum((ln.receivable for ln in lines), ZERO)
        st = Statement.objects.create(
            number=_next_number(f"LG-{batch[:20]}-{codes[op]}-{city:02d}-", Statement,
                                "number"),
            operator_id=op, city_id=city, province_id=province[city],
            month=today.replace(day=1), status=Statement.Status.CONFIRMED,
            lines_count=len(lines), cost_share=total, receivable=total,
            by_mode={"": {"lines": len(lines), "cost_share": str(total), "tax_amount": "0.00",
                          "receivable": str(total)}},
            issued_by=user if getattr(user, "pk", None) else None, confirmed_at=now,
            confirmed_by=user if getattr(user, "pk", None) else None)
        for part in chunked([ln.pk for ln in lines]):
            Line.objects.filter(pk__in=part).update(statement=st)
        for ln in lines:
            ln.statement_id = st.pk


def _write_offs(rows: list[LegacyRow], user, today: date) -> int:
    """The legacy write-offs: a legacy receipt per operator, city and write-off date (its
    received date the write-off date), its applications on the confirmed lines (their
    timestamps the write-off date too), and the entries (see the module's docstring), all
    set-wise. Returns how many receipts."""
    groups = defaultdict(list)
    for row in rows:
        if row.written_off:
            groups[(row.operator_id, row.city_id, row.write_off_date, row.batch)].append(row)
    if not groups:
        return 0
    codes = dict(Operator.objects.values_list("pk", "code"))
    uid = user.pk if getattr(user, "pk", None) else None
    taken = defaultdict(int)   # receipt numbers already used, by prefix
    for batch in {k[3] for k in groups}:
        for no in Receipt.objects.filter(receipt_no__startswith=f"LG-{batch[:20]}-") \
                .values_list("receipt_no", flat=True).iterator():
            taken[no.rsplit("-", 1)[0] + "-"] += 1
    receipts, entries, op_ids = [], [], {}
    ordered = sorted(groups.items())
    for (op, city, day, batch), group in ordered:
        prefix = f"LG-{batch[:20]}-{codes[op]}-{city:02d}-{day:%Y%m%d}-"
        taken[prefix] += 1
        receipts.append({
            "receipt_no": f"{prefix}{taken[prefix]:02d}", "operator_id": op, "city_id": city,
            "amount": sum((r.written_off for r in group), ZERO), "received_date": day,
            "reference": f"{LEGACY_REFERENCE} {batch}", "status": Receipt.Status.APPLIED})
    receipt_ids = copy_insert(Receipt, [r | {"applied": r["amount"]} for r in receipts])
    apps, days = [], []
    for receipt, pk, ((op, _city, day, _batch), group) in zip(receipts, receipt_ids, ordered,
                                                              strict=True):
        code, no, total = codes[op], receipt["receipt_no"], receipt["amount"]
        op_ids[code] = op
        for r in group:
            r.receipt_id = pk
            apps.append({"receipt_id": pk, "line_id": r.confirmed_line.pk,
                         "statement_id": r.confirmed_line.statement_id,
                         "amount": r.written_off, "rule": Application.Rule.MANUAL,
                         "reason": f"历史核销 legacy write-off {day}", "created_by_id": uid})
            days.append(day)
        entries.append((today, "OPENING", no, f"历史回款 {no} legacy receipt", [
            Posting("OPENING", debit=total), Posting("UNAPPLIED", credit=total, operator=code)]))
        entries.append((today, "WRITE_OFF", f"{no}:W", f"历史核销 {no} legacy write-off", [
            Posting("UNAPPLIED", debit=total, operator=code),
            Posting("RECEIVABLE", credit=total, operator=code)]))
    by_day = defaultdict(list)
    for pk, day in zip(copy_insert(Application, apps), days, strict=True):
        by_day[day].append(pk)
    for day, ids in by_day.items():   # the original date, not the take-over's
        for part in chunked(ids):
            Application.objects.filter(pk__in=part).update(created_at=noon(day))
    post_entries(entries, user, operator_ids=op_ids)
    return len(receipts)


def store_unapplied(records, user=None, progress=None, today: date | None = None) -> Counts:
    """Legacy unapplied cash: one unapplied receipt per (batch, operator, city, date), Dr
    OPENING / Cr UNAPPLIED; matching uses it like any receipt. Idempotent by that key."""
    today = today or timezone.localdate()
    ops = dict(Operator.objects.values_list("code", "pk"))
    cities = dict(City.objects.values_list("name", "pk"))
    known = set(LegacyUnapplied.objects.values_list("batch", "operator__code", "city__name",
                                                    "received_date"))
    todo = [r for r in records if (r.get("batch") or DEFAULT_BATCH, r["operator"], r["city"],
                                   r["received_date"]) not in known]
    entries, made = [], []
    with transaction.atomic():
        for r in todo:
            batch = r.get("batch") or DEFAULT_BATCH
            city = cities[r["city"]]
            receipt = Receipt.objects.create(
                receipt_no=_next_number(
                    f"LGU-{batch[:20]}-{r['operator']}-{city:02d}-{r['received_date']:%Y%m%d}-",
                    Receipt, "receipt_no"),
                operator_id=ops[r["operator"]], city_id=city, amount=r["amount"],
                received_date=r["received_date"], reference=f"{LEGACY_REFERENCE} {batch}",
                applied=0, status=Receipt.Status.UNMATCHED)
            made.append(LegacyUnapplied(batch=batch, operator_id=ops[r["operator"]],
                                        city_id=city, amount=r["amount"],
                                        received_date=r["received_date"], receipt=receipt))
            entries.append((today, "OPENING", receipt.receipt_no,
                            f"历史预收 {receipt.receipt_no} legacy unapplied cash", [
                                Posting("OPENING", debit=r["amount"]),
                                Posting("UNAPPLIED", credit=r["amount"],
                                        operator=r["operator"])]))
        LegacyUnapplied.objects.bulk_create(made)
        post_entries(entries, user, operator_ids=ops)
        if made:
            record(user, "history.unapplied", "legacy_unapplied", str(len(made)), None,
                   {"receipts": len(made), "amount": sum((m.amount for m in made), ZERO)},
                   "历史预收接管 legacy unapplied cash taken over")
    if progress:
        progress(len(records))
    return Counts(created=len(made), unchanged=len(records) - len(made))


# ---- the take-over reconciliation ---------------------------------------------------------

def reconciliation(user) -> tuple[list[opening.Tie], opening.Tie, dict]:
    """Legacy totals by (city, operator) — what the files said — against what was imported —
    the lines, legacy write-offs and legacy receipts in the ledger — to the fen; the grand
    total; and the journal's OPENING balance against imported outstanding less unapplied."""
    rows = scoped(user, LegacyRow.objects.all())
    legacy: dict[tuple, opening.Totals] = defaultdict(opening.Totals)
    for city, op, n, pushed, conf, off, left in rows.values("city__name", "operator__code") \
            .annotate(n=Count("pk"), p=Sum("pushed"), c=Sum("confirmed"), w=Sum("written_off"),
                      o=Sum("outstanding")).values_list(
            "city__name", "operator__code", "n", "p", "c", "w", "o"):
        legacy[city, op].add(rows=n, pushed=q(pushed), confirmed=q(conf), written_off=q(off),
                             outstanding=q(left))
    unapplied = scoped(user, LegacyUnapplied.objects.all())
    for city, op, amount in unapplied.values("city__name", "operator__code").annotate(
            a=Sum("amount")).values_list("city__name", "operator__code", "a"):
        legacy[city, op].add(unapplied=q(amount))
    imported: dict[tuple, opening.Totals] = defaultdict(opening.Totals)
    confirmed_ids = rows.exclude(confirmed_line=None).values("confirmed_line")
    pending_ids = rows.exclude(pending_line=None).values("pending_line")
    lines = Line.objects.filter(Q(pk__in=confirmed_ids) | Q(pk__in=pending_ids))
    for city, op, pushed, conf in lines.values("city__name", "operator__code").annotate(
            p=Sum("receivable"), c=Sum("receivable", filter=Q(pk__in=confirmed_ids))) \
            .values_list("city__name", "operator__code", "p", "c"):
        imported[city, op].add(pushed=q(pushed), confirmed=q(conf))
    for city, op, off in Application.objects.filter(
            line__in=confirmed_ids, receipt__in=rows.exclude(receipt=None).values("receipt"),
            reversed_at__isnull=True).values("line__city__name", "line__operator__code") \
            .annotate(s=Sum("amount")).values_list("line__city__name",
                                                    "line__operator__code", "s"):
        imported[city, op].add(written_off=q(off))
    for city, op, amount in Receipt.objects.filter(pk__in=unapplied.values("receipt")).values(
            "city__name", "operator__code").annotate(a=Sum("amount")).values_list(
            "city__name", "operator__code", "a"):
        imported[city, op].add(unapplied=q(amount))
    counted = defaultdict(int)
    for city, op in rows.values_list("city__name", "operator__code"):
        counted[city, op] += 1
    for key, t in imported.items():
        t.outstanding = t.pushed - t.written_off
        t.rows = counted.get(key, 0)
    ties = opening.compare(dict(legacy), dict(imported))
    grand = opening.total(ties)
    journal = {}
    if role_of(user) in (Role.PROVINCE_ADMIN, Role.VIEWER) or user is None:
        r = JournalLine.objects.filter(account="OPENING").aggregate(d=Sum("debit"),
                                                                   c=Sum("credit"))
        balance = q(r["c"]) - q(r["d"])
        expected = grand.imported.outstanding - grand.imported.unapplied
        journal = {"opening_credit": balance, "expected": expected,
                   "ties": balance == expected}
    return ties, grand, journal


def figures_of(ties, grand) -> dict:
    """The reconciliation as plain JSON (for a sign-off's record)."""
    def plain(t: opening.Totals):
        return {k: str(v) for k, v in t.figures().items()} | {"rows": t.rows}
    return {"groups": [{"key": list(t.key), "legacy": plain(t.legacy),
                        "imported": plain(t.imported), "ties": t.ties} for t in ties],
            "total": {"legacy": plain(grand.legacy), "imported": plain(grand.imported),
                      "ties": grand.ties}}


def sign_off(user, note: str) -> SignOff:
    """A finance manager (province admin) signs the take-over reconciliation off, with a
    note; the figures as they stand are kept with it and the sign-off is logged."""
    if role_of(user) != Role.PROVINCE_ADMIN:
        raise HistoryError("只有省管理员（财务经理）可以签认", "only a province admin (finance "
                           "manager) may sign off", "forbidden")
    if not (note or "").strip():
        raise HistoryError("请填写签认说明", "a note is required")
    ties, grand, journal = reconciliation(user)
    if not ties:
        raise HistoryError("尚未导入历史数据", "no legacy ledger imported yet", "conflict")
    figures = figures_of(ties, grand)
    if journal:
        figures["journal"] = {k: str(v) for k, v in journal.items()}
    ok = grand.ties and all(t.ties for t in ties) and journal.get("ties", True)
    with transaction.atomic():
        s = SignOff.objects.create(signed_by=user, note=note.strip()[:2000], ties=ok,
                                   figures=figures)
        record(user, "history.sign_off", "take_over", str(s.pk), None,
               {"ties": ok, "pushed": str(grand.legacy.pushed),
                "outstanding": str(grand.legacy.outstanding)}, note.strip()[:200])
    return s


# ---- collection drives (回收攻坚) -------------------------------------------------------------

BUCKETS = tuple(label for *_b, label in
                ((lo, hi, f"{lo}-{hi}" if hi else f">{lo - 1}") for lo, hi in ageing_rule.BOUNDS))


def arrears(user, as_of: date) -> list[dict]:
    """Outstanding as of ``as_of`` by city, operator and legacy (OPENING chains) or current,
    with the ageing buckets (days since the original push); scoped."""
    owed = receivables.outstanding(as_of, by=("city__name", "operator__code", "chain_kind"),
                                   within=scoped(user, Line.objects.all()))
    groups = {}
    for (city, op, kind, pushed), (amount, chains) in owed.items():
        legacy = kind == Line.Kind.OPENING
        g = groups.get(key := (city, op, legacy))
        if g is None:
            g = groups[key] = {"city": city, "operator": op, "legacy": legacy, "total": ZERO,
                               "chains": 0, "buckets": dict.fromkeys(BUCKETS, ZERO)}
        g["total"] += amount
        g["chains"] += chains
        g["buckets"][BUCKETS[ageing_rule.bucket((as_of - pushed).days)]] += amount
    return [groups[k] for k in sorted(groups, key=lambda k: (k[0], k[1], not k[2]))]


def targets(user):
    """The collection targets the user may see."""
    return scoped(user, CollectionTarget.objects.select_related("city", "updated_by")) \
        .order_by("city__name", "target_date")


def city_outstanding(city_id: int, as_of: date, baseline: date) -> Decimal:
    """What the city's chains pushed on or before ``baseline`` still owe as of ``as_of``."""
    owed = receivables.outstanding(as_of, receivables.pushed_by(baseline),
                                   within=Line.objects.filter(city_id=city_id))
    return sum((amount for amount, _n in owed.values()), ZERO)


def drive_progress(user, as_of: date) -> list[dict]:
    """Each visible target with its progress as of ``as_of`` (capped at the target date):
    the arrears on the baseline date, what of them is left, collected and the goal."""
    out = []
    for t in targets(user):
        day = min(as_of, t.target_date)
        base = city_outstanding(t.city_id, t.baseline_date, t.baseline_date)
        left = city_outstanding(t.city_id, max(day, t.baseline_date), t.baseline_date)
        p = opening.progress(base, left, t.target_amount, t.target_rate)
        out.append({"target": t, "progress": p, "as_of": day,
                    "due": as_of >= t.target_date,
                    "met": p.goal > 0 and p.collected >= p.goal})
    return out


def set_target(user, city_id: int, baseline_date: date, target_date: date,
               target_amount: Decimal | None, target_rate: Decimal | None,
               note: str = "") -> CollectionTarget:
    """Add or change a city's target (province admin); logged with before and after."""
    if role_of(user) != Role.PROVINCE_ADMIN:
        raise HistoryError("只有省管理员可以设定回收目标", "only a province admin may set "
                           "collection targets", "forbidden")
    if (target_amount is None) == (target_rate is None):
        raise HistoryError("请填写目标金额或目标比例（二选一）",
                           "give a target amount or a target rate (one of them)")
    if target_amount is not None and target_amount <= 0:
        raise HistoryError("目标金额应大于 0", "the target amount must be greater than 0")
    if target_rate is not None and not Decimal(0) < target_rate <= 1:
        raise HistoryError("目标比例应在 0 与 100% 之间", "the target rate must be above 0 and "
                           "at most 100%")
    if target_date < baseline_date:
        raise HistoryError("目标日期早于基准日", "the target date is before the baseline date")
    if not (date(1990, 1, 1) <= baseline_date and target_date <= date(2100, 12, 31)):
        raise HistoryError("日期应在 1990 至 2100 年之间", "dates must be between 1990 and 2100")
    if not City.objects.filter(pk=city_id).exists():
        raise HistoryError("地市不存在", "no such city", "not_found")
    with transaction.atomic():
        t = CollectionTarget.objects.select_for_update().filter(
            city_id=city_id, target_date=target_date).first()
        before = None if t is None else {
            "baseline_date": str(t.baseline_date), "target_amount": str(t.target_amount),
            "target_rate": str(t.target_rate), "note": t.note}
        t = t or CollectionTarget(city_id=city_id, target_date=target_date)
        t.baseline_date, t.target_amount, t.target_rate = (baseline_date, target_amount,
                                                           target_rate)
        t.note, t.updated_by = note[:200], user
        t.save()
        record(user, "history.target", "collection_target", f"{t.city_id}/{target_date}", before,
               {"baseline_date": str(baseline_date), "target_amount": str(target_amount),
                "target_rate": str(target_rate), "note": t.note}, note or "回收目标 target")
    return t


def delete_target(user, target_id: int, reason: str) -> None:
    if role_of(user) != Role.PROVINCE_ADMIN:
        raise HistoryError("只有省管理员可以删除回收目标", "only a province admin may remove "
                           "collection targets", "forbidden")
    t = CollectionTarget.objects.filter(pk=target_id).first()
    if t is None:
        raise HistoryError("目标不存在", "no such target", "not_found")
    record(user, "history.target_delete", "collection_target", f"{t.city_id}/{t.target_date}",
           {"target_amount": str(t.target_amount), "target_rate": str(t.target_rate)}, None,
           reason or "删除 removed")
    t.delete()


def snapshot_month(sender=None, month: date | None = None, user=None, as_of=None, **kw):
    """The month close's snapshot step (``analysis.close.month_snapshots``): each city's
    legacy and current arrears at the month's last day, replacing the month's rows (so a
    resumed close changes nothing)."""
    month = month.replace(day=1)
    end = month_end(month)
    cities = dict(City.objects.values_list("name", "pk"))
    by_city = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for r in arrears(None, end):
        figures = by_city[cities[r["city"]]]
        figures[0 if r["legacy"] else 1] += r["total"]
        if r["legacy"]:
            figures[2] += r["buckets"][BUCKETS[-1]]
    with transaction.atomic():
        DriveMonth.objects.filter(month=month).delete()
        DriveMonth.objects.bulk_create([
            DriveMonth(month=month, city_id=city, legacy_outstanding=legacy,
                       current_outstanding=current, legacy_over_365=old)
            for city, (legacy, current, old) in sorted(by_city.items())])
    return {"cities": len(by_city),
            "legacy_outstanding": str(sum((f[0] for f in by_city.values()), ZERO))}


def trend(user, months: int = 12) -> list[dict]:
    """The last ``months`` closed months' arrears (legacy, current, legacy over 365 days)
    of the cities the user may see, summed, oldest first."""
    rows = scoped(user, DriveMonth.objects.all()).values("month").annotate(
        legacy=Sum("legacy_outstanding"), current=Sum("current_outstanding"),
        old=Sum("legacy_over_365")).order_by("-month")[:months]
    return [{"month": r["month"], "legacy": q(r["legacy"]), "current": q(r["current"]),
             "legacy_over_365": q(r["old"])} for r in reversed(list(rows))]
