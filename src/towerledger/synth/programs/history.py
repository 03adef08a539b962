"""The history program in the synthetic province (hooks: see synth.programs).

``begin``: before the first month the province takes over a small legacy ledger — the 18
months before it, for a sample of tenancies: most months confirmed and paid, some paid in part,
some still owed (so ageing shows old arrears from the first day), the last months partly
unconfirmed — and some legacy unapplied cash per operator and city, through the real
imports (``legacy_ledger``, ``legacy_unapplied``)."""

import csv
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from towerledger.domain.months import month_end

LEGACY_MONTHS = 18
MAX_TENANCIES = 150
FEN = Decimal("0.01")
HEADER = ["site_code", "operator", "month", "pushed", "confirmed", "written_off",
          "outstanding", "push_date", "confirm_date", "write_off_date", "batch"]


def _months_before(first: date, n: int) -> list[date]:
    out, m = [], first
    for _ in range(n):
        m = (m - timedelta(days=1)).replace(day=1)
        out.append(m)
    return sorted(out)


def legacy_rows(rng, tenancies, first_month: date) -> list[list]:
    """Rows of the legacy ledger for ``tenancies`` ((site_code, operator, start, end,
    monthly size)) over the months before ``first_month``."""
    rows = []
    months = _months_before(first_month, LEGACY_MONTHS)
    last = first_month - timedelta(days=1)
    for site, op, start, end, size in tenancies:
        for i, m in enumerate(months):
            if start > month_end(m) or (end and end < m):
                continue
            pushed = (size * Decimal(str(rng.uniform(0.8, 1.2)))).quantize(FEN)
            push = m + timedelta(days=rng.randint(3, 15))
            recent = i >= len(months) - 2
            confirmed, confirm = pushed, push + timedelta(days=rng.randint(1, 10))
            if recent and rng.random() < 0.25:
                confirmed, confirm = Decimal("0.00"), None
            if confirm and confirm > last:
                confirm = last
            paid_on = month_end(m) + timedelta(days=rng.randint(20, 60))
            luck = rng.random()
            if not confirmed or paid_on > last or luck < 0.12:
                written = Decimal("0.00")
            elif luck < 0.2:
                written = (confirmed * Decimal("0.5")).quantize(FEN)
            else:
                written = confirmed
            rows.append([site, op, f"{m:%Y-%m}", pushed, confirmed, written, pushed - written,
                         push, confirm or "", paid_on if written else "", "TAKEOVER"])
    return rows


def begin(user, rng, first_month, today):
    from towerledger.exchange.services import run_import
    from towerledger.sites.models import Tenancy

    tenancies = list(Tenancy.objects.exclude(settlement_mode="LUMP_SUM").order_by(
        "tenancy_id").values_list("site__site_code", "operator__code", "start_date",
                                  "end_date", "rated_power_w"))
    if not tenancies:
        return
    rng.shuffle(tenancies)
    picked = [(s, op, start, end, Decimal(max(300, min(3000, (power or 1300) // 2))))
              for s, op, start, end, power in tenancies[:MAX_TENANCIES]]
    # a site shared by two tenancies of one operator is one legacy row per month
    seen, unique = set(), []
    for t in picked:
        if (t[0], t[1]) not in seen:
            seen.add((t[0], t[1]))
            unique.append(t)
    rows = legacy_rows(rng, unique, first_month)
    if not rows:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "legacy-ledger.csv"
        with path.open("w", encoding="gbk", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEADER)
            w.writerows(rows)
        result = run_import("legacy_ledger", path, user, reason="演示数据 demo take-over")
        if not result.stored:
            raise RuntimeError(f"demo legacy ledger did not import: {result.errors[:3]}")
        cities = _cities_of({(r[0], r[1]) for r in rows})
        cash = [[op, city, (Decimal(rng.randint(200, 2000))).quantize(FEN),
                 first_month - timedelta(days=5), "TAKEOVER"]
                for op, city in sorted(cities) if rng.random() < 0.5]
        if cash:
            path = Path(tmp) / "legacy-unapplied.csv"
            with path.open("w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(["operator", "city", "amount", "received_date", "batch"])
                w.writerows(cash)
            result = run_import("legacy_unapplied", path, user, reason="演示数据 demo take-over")
            if not result.stored:
                raise RuntimeError(f"demo legacy cash did not import: {result.errors[:3]}")


def _cities_of(pairs) -> set[tuple[str, str]]:
    from towerledger.sites.models import Site

    city = dict(Site.objects.filter(site_code__in={s for s, _ in pairs}).values_list(
        "site_code", "county__city__name"))
    return {(op, city[s]) for s, op in pairs}
