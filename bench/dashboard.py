"""Time the dashboard page: p50 and p95 of N requests by a logged-in province admin, with
12 months of snapshots (the closed month's rows copied into the 11 months before it when
the province has fewer closed months; the page reads PROVINCE/CITY rows only)."""

import json
import statistics
import sys
import time
from datetime import date

from towerledger.cli import setup_django


def main(n: int):
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from towerledger.access.models import Profile, Role
    from towerledger.analysis.models import Snapshot

    last = Snapshot.objects.order_by("-month").values_list("month", flat=True).first()
    rows = list(Snapshot.objects.filter(month=last).exclude(level="SITE"))
    have = set(Snapshot.objects.values_list("month", flat=True).distinct())
    for k in range(1, 12):
        y, mo = divmod(last.year * 12 + last.month - 1 - k, 12)
        m = date(y, mo + 1, 1)
        if m not in have:
            Snapshot.objects.bulk_create([Snapshot(month=m, level=r.level, key=r.key,
                                                   parent=r.parent, operator=r.operator,
                                                   figures=r.figures) for r in rows])
    user, _ = get_user_model().objects.get_or_create(username="bench-admin")
    Profile.objects.get_or_create(user=user, defaults={"role": Role.PROVINCE_ADMIN})
    c = Client(HTTP_HOST="127.0.0.1")
    c.force_login(user)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = c.get("/dashboard/")
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.status_code
    times.sort()
    print(json.dumps({"n": n, "p50_ms": statistics.median(times),
                      "p95_ms": times[int(0.95 * (n - 1))], "max_ms": times[-1]}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
