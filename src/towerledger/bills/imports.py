"""Checks and stores for bill intake (缴费录入). Set-wise: a handful of queries per file.

A bill's natural key is (account_no, bill_no). Re-importing a bill with the same content
changes nothing; the same key with different content is kept as a second bill
(``dup_seq`` 1, 2 …) which the audit flags DUP_BILL_NO — a resent bill is never merged
silently into the one already paid.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from towerledger.bills.models import Bill, MeterDay, SubmeterReading
from towerledger.db.bulk import Counts, OneOf, chunked, copy_insert, lookup_ids, parts, upsert
from towerledger.exchange.authorise import outside_rows
from towerledger.importers.schema import RowError
from towerledger.org.models import Operator
from towerledger.sites import terms as supply_terms
from towerledger.sites.authorise import by_site
from towerledger.sites.models import Site, SupplyAccount

EARLIEST = date(2000, 1, 1)
MAX_PERIOD_DAYS = 400  # a yearly landlord bill, with a little slack


def err(record, column, zh, en):
    return RowError(record["_row"], column, zh, en)


@dataclass(frozen=True)
class AccountInfo:
    pk: int
    lump_sum: bool
    multiplier: Decimal


def account_info(account_nos) -> dict[str, AccountInfo]:
    found = {}
    for part in parts(account_nos):
        for no, pk, lump, mult in SupplyAccount.objects.filter(OneOf("account_no", part)) \
                .values_list("account_no", "pk", "lump_sum", "multiplier"):
            found[no] = AccountInfo(pk, lump, mult)
    return found


# ---- who may write what ------------------------------------------------------------------

def authorise_by_account(records, importer):
    """Bills and payments belong to the clerk when every site their account feeds is in the
    clerk's city (paying a bill advances and allocates to all of them). A payment reference
    already on a bill the clerk may not change is refused here, so the check's "already paid
    bill …" never names another city's bill."""
    return (outside_rows(records, importer.user, SupplyAccount, "account_no")
            + outside_rows(records, importer.user, Bill, "payment_ref"))


authorise_by_site = by_site()


# ---- bills ----------------------------------------------------------------------------

def check_bills(records):
    accounts = account_info(r["account_no"] for r in records)
    today = timezone.localdate()
    errors = []
    for r in records:
        errors += _check_bill_row(r, accounts.get(r["account_no"]), today)
    errors += _check_payment_refs(records)
    return errors


def _check_bill_row(r, account, today):
    errors = []
    if account is None:
        errors.append(err(r, "account_no", f"电表户号 {r['account_no']} 不存在（请先导入电表户号）",
                          f"unknown account_no {r['account_no']} (import accounts first)"))
    start, end = r["period_start"], r["period_end"]
    if end < start:
        errors.append(err(r, "period_end", f"截止日期 {end} 早于起始日期 {start}",
                          f"period_end {end} is before period_start {start}"))
    elif (end - start).days + 1 > MAX_PERIOD_DAYS:
        errors.append(err(r, "period_end", f"计费周期 {(end - start).days + 1} 天，超过 "
                          f"{MAX_PERIOD_DAYS} 天", f"period of {(end - start).days + 1} days "
                          f"is longer than {MAX_PERIOD_DAYS}"))
    if start < EARLIEST or start > today + timedelta(days=62):
        errors.append(err(r, "period_start", f"起始日期 {start} 不合理",
                          f"period_start {start} is not a plausible date"))
    if r["paid_date"] and r["paid_date"] > today:
        errors.append(err(r, "paid_date", f"支付日期 {r['paid_date']} 晚于今天",
                          f"paid_date {r['paid_date']} is in the future"))
    if r["payment_ref"] and not r["paid_date"]:
        errors.append(err(r, "paid_date", "填写了支付流水号，须填写支付日期",
                          "payment_ref given without paid_date"))
    if (r["start_reading"] is None) != (r["end_reading"] is None):
        errors.append(err(r, "end_reading" if r["end_reading"] is None else "start_reading",
                          "起度和止度须同时填写", "start_reading and end_reading go together"))
    old_end, new_start = r["old_meter_end_reading"], r["new_meter_start_reading"]
    if (old_end is None) != (new_start is None):
        errors.append(err(r, "old_meter_end_reading" if old_end is None
                          else "new_meter_start_reading", "旧表止码和新表起码须同时填写",
                          "old_meter_end_reading and new_meter_start_reading go together"))
    elif old_end is not None and not r["meter_changed"]:
        errors.append(err(r, "meter_changed", "填写了旧表止码和新表起码，是否换表须为“是”",
                          "meter change readings given: meter_changed must be 是 (yes)"))
    if account and not account.lump_sum and r["kwh"] is None and r["end_reading"] is None:
        errors.append(err(r, "kwh", "非包干电表须填写用电量或起止度",
                          "kWh (or the readings) required unless the account is lump-sum"))
    if r["amount"] == 0 and r["kwh"]:
        errors.append(err(r, "amount", "有用电量但金额为 0", "amount is 0 but kWh is not"))
    if account and r["kwh"] is None and r["end_reading"] is not None \
            and r["start_reading"] is not None and abs(_derived_kwh(r, account)) > KWH_MAX:
        errors.append(err(r, "end_reading", "由起止度算出的用电量超出范围",
                          f"the kWh the readings give is out of range (at most {KWH_MAX})"))
    return errors


# the largest kWh the bill's column holds: derived kWh is (止度 − 起度) × 倍率 + 损耗, each
# in range on its own, but their product may not be
_KWH = Bill._meta.get_field("kwh")
KWH_MAX = Decimal(10) ** (_KWH.max_digits - _KWH.decimal_places) - 1


def _check_payment_refs(records):
    """A payment reference pays one bill only, in the database (one row of the file only
    is the schema's: ``unique``/``key``, judged as the file is read)."""
    errors, seen = [], {r["payment_ref"] for r in records if r["payment_ref"]}
    used = {}
    for part in parts(seen):
        used.update({ref: (no, bill) for ref, no, bill in Bill.objects.filter(
            OneOf("payment_ref", part)).values_list("payment_ref", "account__account_no",
                                                    "bill_no")})
    for r in records:
        other = used.get(r["payment_ref"])
        if other and other != (r["account_no"], r["bill_no"]):
            errors.append(err(r, "payment_ref", f"支付流水号 {r['payment_ref']} 已用于缴费单 "
                              f"{other[0]}/{other[1]}", f"payment_ref {r['payment_ref']} "
                              f"already paid bill {other[0]}/{other[1]}"))
    return errors


CONTENT = ("period_start", "period_end", "amount", "kwh")


def _same_content(stored: dict, record: dict) -> bool:
    return all(stored[f] == record[f] for f in CONTENT)


def _existing(records, accounts) -> dict[tuple, list[dict]]:
    """(account pk, bill_no) → the bills stored under that key."""
    by_key: dict[tuple, list[dict]] = {}
    keys = ((accounts[r["account_no"]].pk, r["bill_no"]) for r in records)
    for part in parts(keys):
        for b in Bill.objects.filter(OneOf("account_id", {a for a, _ in part}),
                                     OneOf("bill_no", {n for _, n in part})).values(
                "pk", "account_id", "bill_no", "dup_seq", "status", *CONTENT):
            by_key.setdefault((b["account_id"], b["bill_no"]), []).append(b)
    return by_key


def _derived_kwh(r, account):
    """kWh from the readings when the file gives only those: (止度 − 起度) × 倍率 + 损耗, or
    across a meter change ((旧表止码 − 起度) + (止度 − 新表起码)) × 倍率 + 损耗."""
    if r["kwh"] is not None or r["end_reading"] is None:
        return r["kwh"]
    mult = r["multiplier"] or account.multiplier
    old_end, new_start = r.get("old_meter_end_reading"), r.get("new_meter_start_reading")
    if r.get("meter_changed") and old_end is not None and new_start is not None:
        used = (old_end - r["start_reading"]) + (r["end_reading"] - new_start)
    else:
        used = r["end_reading"] - r["start_reading"]
    return used * mult + (r["loss_kwh"] or 0)


def _new_bill(r, account, dup_seq, book) -> dict:
    """The new bill's fields, for ``copy_insert`` (no model instance: 100,000 of those cost
    seconds). A bill without an invoice type takes its account's on the bill's own day (the
    dated supply terms: a late bill of a period before 转改直 keeps the landlord's type)."""
    return dict(
        account_id=account.pk, bill_no=r["bill_no"], dup_seq=dup_seq,
        period_start=r["period_start"], period_end=r["period_end"],
        start_reading=r["start_reading"], end_reading=r["end_reading"],
        multiplier=r["multiplier"], loss_kwh=r["loss_kwh"], kwh=_derived_kwh(r, account),
        unit_price=r["unit_price"], amount=r["amount"], input_tax=r["input_tax"],
        invoice_type=r["invoice_type"] or book.on(
            account.pk, supply_terms.bill_day(r["period_start"], r["period_end"])
        ).input_invoice_type,
        meter_changed=bool(r["meter_changed"]),
        old_meter_end_reading=r["old_meter_end_reading"],
        new_meter_start_reading=r["new_meter_start_reading"])


def store_bills(records, user=None, progress=None):
    """Store new bills, audit them, and pay those the file says are paid (unless held)."""
    from towerledger.bills import audit, payments

    accounts = account_info(r["account_no"] for r in records)
    book = supply_terms.load([a.pk for a in accounts.values()])
    existing = _existing(records, accounts)
    counts, new, to_pay = Counts(), [], []
    for r in records:
        account = accounts[r["account_no"]]
        same_key = existing.get((account.pk, r["bill_no"]), [])
        r["kwh"] = _derived_kwh(r, account)
        match = next((b for b in same_key if _same_content(b, r)), None)
        if match is not None:
            counts.unchanged += 1
            if r["paid_date"] and match["status"] == Bill.Status.UNPAID:
                to_pay.append((match["pk"], r))
            continue
        bill = _new_bill(r, account, max((b["dup_seq"] for b in same_key), default=-1) + 1,
                         book)
        new.append((bill, r))
    # a new bill the file says is paid goes in paid (one write, not an insert and then an
    # update of every paid bill); the audit's blocked ones are set back to held by ``pay``
    paid_now = payments.paid_at_insert(new)
    ids = []
    for part in chunked(new, 10_000):
        ids += copy_insert(Bill, [b for b, _ in part])
        if progress:
            progress(len(part))
    counts.created = len(new)
    audit.audit_bills(ids, book=book)
    inserted = []
    for pk, (b, r), now in zip(ids, new, paid_now, strict=True):
        if now:
            inserted.append(({"pk": pk, "account_id": b["account_id"],
                              "account__account_no": r["account_no"], "bill_no": b["bill_no"],
                              "dup_seq": b["dup_seq"], "amount": b["amount"],
                              "status": Bill.Status.UNPAID}, b["paid_date"], b["payment_ref"]))
        elif r["paid_date"]:
            to_pay.append((pk, r))
    payments.pay_from_file(to_pay, user, inserted)
    return counts


# ---- payments file --------------------------------------------------------------------

def _bills_by_key(records) -> dict[tuple, list]:
    """(account_no, bill_no) → [(pk, status, payment_ref, dup_seq)], newest dup_seq last."""
    found: dict[tuple, list] = {}
    for part in parts(r["bill_no"] for r in records):
        for row in Bill.objects.filter(OneOf("bill_no", part)).exclude(status=Bill.Status.VOID) \
                .order_by("dup_seq").values_list("account__account_no", "bill_no", "pk",
                                                 "status", "payment_ref", "dup_seq"):
            found.setdefault(row[:2], []).append(row[2:])
    return found


def check_payments(records):
    bills = _bills_by_key(records)
    errors = []
    for r in records:
        if (r["account_no"], r["bill_no"]) not in bills:
            errors.append(err(r, "bill_no", f"缴费单 {r['account_no']}/{r['bill_no']} 不存在",
                              f"no bill {r['bill_no']} on account {r['account_no']}"))
        if r["paid_date"] > timezone.localdate():
            errors.append(err(r, "paid_date", f"支付日期 {r['paid_date']} 晚于今天",
                              f"paid_date {r['paid_date']} is in the future"))
    return errors + _check_payment_refs(records)


def store_payments(records, user=None, progress=None):
    """Pay each named bill; a payment_ref already recorded on its bill changes nothing."""
    from towerledger.bills import payments

    bills = _bills_by_key(records)
    todo = [(bills[r["account_no"], r["bill_no"]][0][0], r) for r in records]
    result = payments.pay_from_file(todo, user)
    if progress:
        progress(len(records))
    return Counts(created=len(result.paid), unchanged=len(result.already_paid),
                  updated=len(result.blocked))


# ---- sub-meter readings and smart-meter days -------------------------------------------

def _check_sites_known(records):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    return sites, [err(r, "site_code", f"站址编码 {r['site_code']} 不存在",
                       f"unknown site_code {r['site_code']}")
                   for r in records if r["site_code"] not in sites]


def check_submeter(records):
    _, errors = _check_sites_known(records)
    for r in records:
        if r["period_end"] < r["period_start"]:
            errors.append(err(r, "period_end", "截止日期早于起始日期",
                              "period_end is before period_start"))
    return errors


def store_submeter(records, user=None, progress=None):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    operators = dict(Operator.objects.values_list("code", "pk"))
    rows = [{"site_id": sites[r["site_code"]], "operator_id": operators[r["operator"]],
             "period_start": r["period_start"], "period_end": r["period_end"], "kwh": r["kwh"]}
            for r in records]
    return upsert(SubmeterReading, rows, ("site_id", "operator_id", "period_start",
                                          "period_end"), ("kwh",), progress)


def check_smartmeter(records):
    return _check_sites_known(records)[1]


def store_smartmeter(records, user=None, progress=None):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    rows = [{"site_id": sites[r["site_code"]], "date": r["date"], "kwh": r["kwh"],
             "dc_current_a": r["dc_current_a"], "dc_voltage": r["dc_voltage"]}
            for r in records]
    return upsert(MeterDay, rows, ("site_id", "date"), ("kwh", "dc_current_a", "dc_voltage"),
                  progress)
