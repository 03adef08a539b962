"""The bill behind a line, as far as the line's share is concerned (账单依据): what an
operator needs to check a 读数/电量不对 or 电价不对 dispute — the bill's period, readings
(start, end, multiplier, loss, a declared meter change), kWh, unit price and amount, the
part of the bill that went to the site, and the line's share of it in kWh and yuan.

Never the supply account (电表户号): operators must not see account numbers, so nothing
here names it, and the multiplier a bill leaves empty is taken from the account without
showing where it came from."""

from decimal import Decimal, InvalidOperation

from towerledger.web.labels import code_label

HUNDRED = Decimal(100)


def _decimal(text) -> Decimal | None:
    try:
        return Decimal(str(text)) if text not in (None, "") else None
    except InvalidOperation:
        return None


def metered_kwh(bill, multiplier) -> Decimal | None:
    """kWh the readings give: (end − start) × multiplier + loss, or across a declared meter
    change ((old end − start) + (end − new start)) × multiplier + loss."""
    if bill.start_reading is None or bill.end_reading is None or multiplier is None:
        return None
    if bill.meter_changed and bill.old_meter_end_reading is not None \
            and bill.new_meter_start_reading is not None:
        used = (bill.old_meter_end_reading - bill.start_reading) \
            + (bill.end_reading - bill.new_meter_start_reading)
    else:
        used = bill.end_reading - bill.start_reading
    return (used * multiplier + (bill.loss_kwh or 0)).quantize(Decimal("0.01"))


def bill_facts(line) -> dict | None:
    """The bill's figures for ``line``'s page; None for a line without a bill (lump sums)."""
    bill = line.bill if line.bill_id else None
    if bill is None:
        return None
    trace = line.trace or {}
    multiplier = bill.multiplier or bill.account.multiplier
    split = _decimal(trace.get("site_split"))        # percent of the bill for this site
    kwh = bill.kwh
    site_kwh = (kwh * split / HUNDRED).quantize(Decimal("0.01")) if kwh is not None \
        and split is not None else None
    site_amount = (bill.amount * split / HUNDRED).quantize(Decimal("0.01")) \
        if split is not None else None
    # the line's share is of the whole bill (6 places): its kWh is the bill's kWh × share
    line_kwh = (kwh * line.share).quantize(Decimal("0.01")) if kwh is not None else None
    metered = metered_kwh(bill, multiplier)
    return {
        "bill_no": bill.bill_no, "period_start": bill.period_start,
        "period_end": bill.period_end, "days": bill.days,
        "start_reading": bill.start_reading, "end_reading": bill.end_reading,
        "multiplier": multiplier, "loss_kwh": bill.loss_kwh,
        "meter_changed": bill.meter_changed,
        "old_meter_end": bill.old_meter_end_reading,
        "new_meter_start": bill.new_meter_start_reading,
        "metered_kwh": metered, "kwh": kwh,
        "readings_agree": metered is None or kwh is None or abs(metered - kwh) <= 1,
        "unit_price": bill.unit_price, "amount": bill.amount,
        "invoice": code_label(bill.invoice_type),
        "site_split": split, "site_kwh": site_kwh, "site_amount": site_amount,
        "share_pct": (line.share * HUNDRED).quantize(Decimal("0.0001")),
        "line_kwh": line_kwh,
    }
