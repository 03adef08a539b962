"""Time every main page per role: p50 and p95 of N requests, in-process through Django's
test Client (like bench/dashboard.py), against the database of DATABASE_URL.

One user per role is created (or reused): province admin, viewer, city clerk (the city
with the most lines), operator user of all its cities (the operator with the most lines)
and the same operator scoped to that city. Pages a role may not open are skipped.

Prints one JSON line per (page, role) with n, p50_ms, p95_ms, max_ms, then a final line
``{"pages": [{"page", "role", "n", "p50_ms", "p95_ms"}, …]}`` (bench/run.py reads it);
``--markdown`` prints a table before that last line.

    DATABASE_URL=postgres://…/towerledger_pages python bench/pages.py 50 [--markdown]
    [--only statements,ageing] [--roles admin,operator]
"""

import argparse
import json
import os
import statistics
import sys
import time

from towerledger.cli import setup_django

# a throwaway bench database in development mode, as bench/run.py and bench/dashboard.py
os.environ.setdefault("TOWERLEDGER_DEBUG", "1")
ROLES = ("admin", "viewer", "clerk", "operator", "operator_city")


def _users():
    """{role name: user}, created on first use (password unusable: force_login only)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from towerledger.access.models import Profile, Role
    from towerledger.org.models import City, Operator
    from towerledger.settlement.models import Line

    busiest = (Line.objects.exclude(city=None).exclude(operator=None)
               .values("city_id", "operator_id").annotate(n=Count("pk")).order_by("-n").first())
    if busiest:
        city = City.objects.get(pk=busiest["city_id"])
        operator = Operator.objects.get(pk=busiest["operator_id"])
    else:
        city, operator = City.objects.order_by("pk").first(), Operator.objects.order_by("pk").first()
    wanted = {"admin": (Role.PROVINCE_ADMIN, None, None), "viewer": (Role.VIEWER, None, None),
              "clerk": (Role.CITY_CLERK, city, None),
              "operator": (Role.OPERATOR, None, operator),
              "operator_city": (Role.OPERATOR, city, operator)}
    users = {}
    for name, (role, c, op) in wanted.items():
        user, created = get_user_model().objects.get_or_create(username=f"bench-pages-{name}")
        if created:
            user.set_unusable_password()
            user.save()
        Profile.objects.update_or_create(user=user, defaults={
            "role": role, "city": c, "operator": op, "must_change_password": False})
        users[name] = user
    return users


def _pages(users):
    """[(page name, url, roles)]: the main pages, with an object of each kind the role can
    see for the detail pages."""
    from towerledger.access.scope import scoped
    from towerledger.collection.models import Statement

    staff = ("admin", "viewer", "clerk")
    everyone = (*staff, "operator", "operator_city")

    def statement_url(user):
        st = scoped(user, Statement.objects.all()).order_by("-lines_count").first()
        return f"/statements/{st.pk}/" if st else None

    return [
        ("home", "/", everyone),
        ("dashboard", "/dashboard/", everyone),
        ("sites", "/sites/", everyone),
        ("bills", "/bills/", staff),
        ("audit_queue", "/flags/", staff),
        ("lines", "/lines/", everyone),
        ("lines_history", "/lines/?tab=history", everyone),
        ("disputes", "/disputes/", ("admin", "clerk")),
        ("site_ledger", "/ledger/", everyone),
        ("statements", "/statements/", everyone),
        ("statement", statement_url, everyone),
        ("receipts", "/receipts/", everyone),
        ("ageing", "/ageing/", everyone),
        ("ageing_by_site", "/ageing/?by=site", everyone),
        ("report_kpi", "/reports/kpi/", everyone),
        ("report_sites", "/reports/sites/", staff),
        ("report_mysites", "/reports/mysites/", ("operator", "operator_city")),
        ("report_tower", "/reports/tower/", staff),
        ("report_prices", "/reports/prices/", staff),
        ("programs", "/programs/", everyone),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=50)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated page names")
    ap.add_argument("--roles", default="", help="comma-separated roles")
    args = ap.parse_args(argv)
    setup_django()
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()   # the Client's responses keep their context for checks
    users = _users()
    only = set(filter(None, args.only.split(",")))
    roles = [r for r in ROLES if not args.roles or r in args.roles.split(",")]
    results = []
    for page, url, allowed in _pages(users):
        if only and page not in only:
            continue
        for role in roles:
            if role not in allowed:
                continue
            user = users[role]
            address = url(user) if callable(url) else url
            if address is None:
                continue
            c = Client(HTTP_HOST="127.0.0.1")
            c.force_login(user)
            r = c.get(address)   # warm: the first request compiles templates, fills caches
            if r.status_code != 200:
                print(json.dumps({"page": page, "role": role, "url": address,
                                  "error": r.status_code}), flush=True)
                continue
            times = []
            for _ in range(args.n):
                t = time.perf_counter()
                r = c.get(address)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (page, role, r.status_code)
            times.sort()
            row = {"page": page, "role": role, "n": args.n,
                   "p50_ms": round(statistics.median(times), 1),
                   "p95_ms": round(times[int(0.95 * (args.n - 1))], 1),
                   "max_ms": round(times[-1], 1)}
            results.append(row)
            print(json.dumps({**row, "url": address}), flush=True)
    if args.markdown:
        print("\n| page | role | n | p50 ms | p95 ms |\n|---|---|---|---|---|")
        for r in results:
            flag = " ⚠" if r["p95_ms"] >= 300 else ""
            print(f"| {r['page']} | {r['role']} | {r['n']} | {r['p50_ms']:.0f} | "
                  f"{r['p95_ms']:.0f}{flag} |")
        print()
    print(json.dumps({"pages": [{k: r[k] for k in ("page", "role", "n", "p50_ms", "p95_ms")}
                                for r in results]}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
