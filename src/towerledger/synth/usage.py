"""Monthly bills of a synthetic province, with injected anomalies and their ground truth.

Use follows the load: each active tenancy's DC current × 53.5 V × 24 h × the site's PUE
× a seasonal factor (summer and winter higher), with noise; meters advance by kWh ÷
multiplier; amount = kWh × price. Anomalies are injected on a few accounts a month and
recorded in the truth list as (account_no, bill_no, kind, expected audit codes).
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from towerledger.synth.province import VOLTAGE, Account, Province, Site, month_add

SEASON = {1: 1.06, 2: 1.04, 3: 0.97, 4: 0.95, 5: 1.0, 6: 1.08, 7: 1.12, 8: 1.12, 9: 1.04,
          10: 0.96, 11: 0.98, 12: 1.05}
RATE = {"SPECIAL_13": Decimal("0.13"), "SPECIAL_9": Decimal("0.09"),
        "SPECIAL_3": Decimal("0.03"), "SPECIAL_1": Decimal("0.01")}
FEN = Decimal("0.01")
ANOMALIES = {  # kind: expected audit codes (any of them counts as caught)
    "DUP_CONTENT": ("DUP_CONTENT",), "DUP_BILL_NO": ("DUP_BILL_NO",),
    "OVERLAP": ("OVERLAP",), "METER_ROLLBACK": ("METER_ROLLBACK",),
    "PRICE_CAP": ("PRICE_CAP",), "THEFT": ("BENCH_DC", "BENCH_SMART"),
    "ESTIMATED": ("ESTIMATED",), "AFTER_DECOMMISSION": ("NO_TENANT",),
}

INJECTED = [k for k in ANOMALIES if k != "AFTER_DECOMMISSION"]  # that one arises by itself


@dataclass
class Month:
    start: date
    bills: list[dict] = field(default_factory=list)
    submeter: list[tuple] = field(default_factory=list)
    smart: list[tuple] = field(default_factory=list)

    @property
    def end(self) -> date:
        return month_add(self.start, 1) - timedelta(days=1)


def active_days(start: date, end: date | None, lo: date, hi: date) -> int:
    a, b = max(start, lo), min(end or hi, hi)
    return max(0, (b - a).days + 1)


def site_month_kwh(site: Site, lo: date, hi: date, rng: random.Random) -> Decimal:
    """What the site used from lo to hi inclusive, from its tenancies' DC load."""
    amps_days = sum(float(t.dc_a) * active_days(t.start, t.end, lo, hi) for t in site.tenancies)
    if site.decommissioned and lo > site.decommissioned:
        amps_days = 0.0
    vacant = (hi - lo).days + 1 if not amps_days else 0
    kwh = amps_days * float(VOLTAGE) * 24 / 1000 * site.pue * SEASON[lo.month]
    kwh = kwh * rng.uniform(0.97, 1.03) + vacant * 7.2  # a vacant site still draws ~0.3 kW
    return Decimal(kwh).quantize(FEN)


class Generator:
    def __init__(self, province: Province, seed: int, today: date, anomaly_rate: float):
        self.p = province
        self.rng = random.Random(seed * 7919 + 1)
        self.today = today
        self.rate = anomaly_rate
        self.readings = {a.account_no: Decimal(self.rng.randrange(1000, 90000)) for a in
                         province.accounts}
        self.sites = province.site_by_code
        self.truth: list[tuple] = []
        self.carry: dict[int, list[dict]] = {}  # bills resent in a later month's file
        self.estimated: dict[str, tuple[int, Decimal]] = {}  # account → (until month, kWh)
        self.seq = 0
        self.reissued: list[dict] = []

    def months(self):
        for i in range(self.p.months):
            month = Month(month_add(self.p.first_month, i))
            kwh_by_site = {s.code: site_month_kwh(s, month.start, month.end, self.rng)
                           for s in self.p.sites}
            self._usage_records(month, kwh_by_site)
            for account in self.p.accounts:
                self._account_month(i, month, account, kwh_by_site)
            month.bills += self.carry.pop(i, [])
            yield month

    # ---- bills -------------------------------------------------------------------------

    def _closing(self, account: Account) -> date | None:
        dates = [self.sites[c].decommissioned for c, _ in account.splits
                 if self.sites[c].decommissioned]
        return min(dates) if dates else None

    def _account_month(self, i: int, month: Month, account: Account, kwh_by_site):
        if (i - account.offset) % account.cycle:
            return
        start = month.start
        end = month_add(start, account.cycle) - timedelta(days=1)
        if end > month_add(self.p.first_month, self.p.months) - timedelta(days=1):
            return
        closing = self._closing(account)
        after = False
        if closing and start > closing:
            if not (self.rng.random() < 0.3 and start <= month_add(closing, 2)
                    and account.cycle == 1 and not account.lump):
                return
            after = True
        if closing and start <= closing < end:
            end = closing  # the final reading (拆站)
        kwh = self._kwh(account, start, end, kwh_by_site, month)
        bill = self._bill(account, start, end, kwh, month)
        if after:
            self._truth(bill, "AFTER_DECOMMISSION")
        elif i >= 2 and account.cycle == 1 and not account.lump and not closing:
            bill = self._maybe_inject(i, month, account, bill)
        month.bills.append(bill)
        month.bills += self.reissued
        self.reissued.clear()

    def _kwh(self, account, start, end, kwh_by_site, month) -> Decimal | None:
        if account.lump:
            return None
        if end <= month.end:
            total = sum((kwh_by_site[c] for c, _ in account.splits), Decimal(0))
            if end < month.end:  # a final bill: the days up to the final reading
                total = (total * ((end - start).days + 1) / ((month.end - start).days + 1))
            return total.quantize(FEN)
        total = Decimal(0)
        lo = start
        while lo <= end:
            hi = min(month_add(lo, 1) - timedelta(days=1), end)
            total += sum((site_month_kwh(self.sites[c], lo, hi, self.rng)
                          for c, _ in account.splits), Decimal(0))
            lo = hi + timedelta(days=1)
        return total

    def _bill(self, account: Account, start, end, kwh, month, price=None) -> dict:
        self.seq += 1
        price = price or account.price
        row = {"bill_no": f"{account.account_no}-{start:%Y%m}", "account_no": account.account_no,
               "period_start": start, "period_end": end, "start_reading": None,
               "end_reading": None, "multiplier": None, "loss_kwh": None, "kwh": None,
               "unit_price": None, "amount": None, "input_tax": None,
               "invoice_type": account.invoice, "paid_date": None, "payment_ref": None}
        if kwh is None:
            row["amount"] = (account.price * 2000 * account.cycle).quantize(FEN)
        else:
            self._meter(row, account, kwh, price)
        rate = RATE.get(account.invoice)
        if rate:
            row["input_tax"] = (row["amount"] * rate / (1 + rate)).quantize(FEN, ROUND_HALF_UP)
        self._maybe_paid(row, month)
        return row

    def _meter(self, row, account: Account, kwh: Decimal, price: Decimal):
        mult = account.multiplier
        delta = (kwh / mult).quantize(FEN)
        kwh = delta * mult
        start = self.readings[account.account_no]
        self.readings[account.account_no] = start + delta
        row.update(start_reading=start, end_reading=start + delta,
                   multiplier=mult if mult != 1 else None, kwh=kwh, unit_price=price,
                   amount=(kwh * price).quantize(FEN, ROUND_HALF_UP))

    def _maybe_paid(self, row, month: Month | None):
        if month is None:  # a corrected copy: the caller keeps the original's payment
            return
        last_month = month_add(self.p.first_month, self.p.months - 1)
        if month.start == last_month and self.rng.random() < 0.6:
            return
        paid = row["period_end"] + timedelta(days=self.rng.randint(3, 20))
        row["paid_date"] = min(paid, self.today - timedelta(days=1))
        row["payment_ref"] = f"PAY{self.seq:09d}"

    def _truth(self, bill: dict, kind: str):
        self.truth.append((bill["account_no"], bill["bill_no"], kind,
                           "|".join(ANOMALIES[kind])))

    # ---- anomalies -------------------------------------------------------------------------

    def _maybe_inject(self, i, month: Month, account: Account, bill: dict) -> dict:
        est = self.estimated.get(account.account_no)
        if est and i <= est[0]:
            bill = self._with_kwh(account, bill, est[1])
            if i == est[0]:
                self._truth(bill, "ESTIMATED")
            return bill
        if self.rng.random() >= self.rate * len(INJECTED):
            return bill
        kind = self.rng.choice(INJECTED)
        return getattr(self, f"_inject_{kind.lower()}")(i, month, account, bill)

    def _with_kwh(self, account, bill, kwh):
        self.readings[account.account_no] = bill["start_reading"]
        fixed = self._bill(account, bill["period_start"], bill["period_end"], kwh, None)
        fixed.update(bill_no=bill["bill_no"], paid_date=bill["paid_date"],
                     payment_ref=bill["payment_ref"])
        return fixed

    def _inject_dup_content(self, i, month, account, bill):
        copy = dict(bill, bill_no=bill["bill_no"] + "R", paid_date=None, payment_ref=None)
        self.reissued.append(copy)  # arrives after the original
        self._truth(copy, "DUP_CONTENT")
        return bill

    def _inject_dup_bill_no(self, i, month, account, bill):
        if i + 1 >= self.p.months:
            return bill
        resent = dict(bill, amount=(bill["amount"] * Decimal("1.05")).quantize(FEN),
                      paid_date=None, payment_ref=None)
        self.carry.setdefault(i + 1, []).append(resent)
        self._truth(resent, "DUP_BILL_NO")
        return bill

    def _inject_overlap(self, i, month, account, bill):
        bill["period_start"] -= timedelta(days=10)
        self._truth(bill, "OVERLAP")
        return bill

    def _inject_meter_rollback(self, i, month, account, bill):
        bill["start_reading"], bill["end_reading"] = bill["end_reading"], bill["start_reading"]
        self.readings[account.account_no] = bill["start_reading"]
        self._truth(bill, "METER_ROLLBACK")
        return bill

    def _inject_price_cap(self, i, month, account, bill):
        cap = account.cap or account.price
        price = (cap * Decimal("1.15")).quantize(Decimal("0.0001"))
        bill.update(unit_price=price, amount=(bill["kwh"] * price).quantize(FEN, ROUND_HALF_UP))
        self._truth(bill, "PRICE_CAP")
        return bill

    def _inject_theft(self, i, month, account, bill):
        stolen = self._with_kwh(account, bill, (bill["kwh"] * Decimal("2.2")).quantize(FEN))
        self._truth(stolen, "THEFT")
        return stolen

    def _inject_estimated(self, i, month, account, bill):
        if i + 2 < self.p.months:
            self.estimated[account.account_no] = (i + 2, bill["kwh"])
        return bill

    # ---- sub-meters and smart meters ---------------------------------------------------------

    def _usage_records(self, month: Month, kwh_by_site):
        for s in self.p.sites:
            if s.method == "SUBMETER":
                self._submeter(month, s, kwh_by_site[s.code])
            if s.smart and self.smart_month(month):
                self._smart(month, s, kwh_by_site[s.code])

    smart_from: date | None = None

    def smart_month(self, month: Month) -> bool:
        return self.smart_from is not None and month.start >= self.smart_from

    def _submeter(self, month: Month, site: Site, kwh: Decimal):
        amps = {t.operator: float(t.dc_a) * active_days(t.start, t.end, month.start, month.end)
                for t in site.tenancies}
        total = sum(amps.values())
        for op, a in amps.items():
            if a:
                month.submeter.append((site.code, op, month.start, month.end,
                                       Decimal(float(kwh) * 0.9 * a / total).quantize(FEN)))

    def _smart(self, month: Month, site: Site, kwh: Decimal):
        days = (month.end - month.start).days + 1
        daily = float(kwh) / days
        amps = sum(float(t.dc_a) for t in site.tenancies
                   if active_days(t.start, t.end, month.start, month.end))
        for d in range(days):
            month.smart.append((site.code, month.start + timedelta(days=d),
                                Decimal(daily * self.rng.uniform(0.97, 1.03)).quantize(FEN),
                                Decimal(amps).quantize(FEN), VOLTAGE))
