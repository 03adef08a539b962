"""Write a receipts file for the benchmark from what is open in the database: one receipt
per statement naming it (some partial), the rest unreferenced amounts per operator and
city that oldest-first matching spreads over the open lines; enables oldest-first."""

import csv
import random
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from towerledger.cli import setup_django


def main(out: Path, n: int, seed: int = 1):
    setup_django()
    from django.db.models import F, Sum
    from django.utils import timezone

    from towerledger.collection.models import MatchSetting, Statement
    from towerledger.org.models import Province
    from towerledger.settlement.models import Line

    rng = random.Random(seed)
    for p in Province.objects.all():
        MatchSetting.objects.update_or_create(province=p, defaults={"oldest_first": True})
    today = timezone.localdate().isoformat()
    rows = []
    for st in Statement.objects.select_related("operator", "city"):
        share = Decimal(rng.choice(["1", "1", "0.8", "0.5"]))
        amount = (st.receivable * share * Decimal("0.5")).quantize(Decimal("0.01"))
        if amount > 0:
            rows.append([f"RB{len(rows):07d}", st.operator.code, st.city.name if st.city
                         else "", amount, today, f"电费 {st.number}"])
    open_by = defaultdict(Decimal)
    for op, city, left in Line.objects.filter(status="CONFIRMED", statement__isnull=False) \
            .values_list("operator__code", "city__name").annotate(
                left=Sum(F("receivable") - F("written_off"))):
        open_by[op, city] = left * Decimal("0.45")   # what the statement receipts leave
    keys = [k for k, v in open_by.items() if v > 1]
    per_key = max(1, (n - len(rows)) // max(1, len(keys)))
    for op, city in keys:
        budget = open_by[op, city]
        for _ in range(per_key):
            amount = (budget / per_key * Decimal(rng.uniform(0.5, 1.5))).quantize(
                Decimal("0.01"))
            if amount > 0 and len(rows) < n:
                rows.append([f"RB{len(rows):07d}", op, city, amount, today, ""])
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["receipt_no", "operator", "city", "amount", "received_date", "reference"])
        w.writerows(rows)
    print(len(rows))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
