"""The synthetic province: reproducible, realistic in shape, importable, and its audits
catch what it injected."""

import csv
import filecmp
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from towerledger.synth.demo import ensure_demo_users
from towerledger.synth.files import generate
from towerledger.synth.recall import measure

TODAY = date(2026, 11, 25)


def rows(path):
    with path.open(encoding="gb18030" if path.name == "accounts.csv" else "utf-8") as f:
        return list(csv.DictReader(f))


def test_same_seed_gives_identical_files(tmp_path):
    a = generate(tmp_path / "a", 150, 3, seed=7, today=TODAY)
    b = generate(tmp_path / "b", 150, 3, seed=7, today=TODAY)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names,
                                               shallow=False)
    assert not mismatch and not errors and len(match) == len(names)
    other = generate(tmp_path / "c", 150, 3, seed=8, today=TODAY)
    assert not filecmp.cmp(a.master["tenancies"], other.master["tenancies"], shallow=False)
    assert b.counts["bills"] > 0


def test_province_has_the_shape_of_domain_section_9(tmp_path):
    w = generate(tmp_path, 2000, 2, seed=1, today=TODAY)
    sites, tenancies = rows(w.master["sites"]), rows(w.master["tenancies"])
    assert len({s["city"] for s in sites}) == 14
    assert 1.55 <= len(tenancies) / len(sites) <= 1.85
    fixed = {r["site_code"] for r in rows(w.master["rules"]) if r["method"] == "FIXED_RATIO"}
    ratio = Counter()
    for t in tenancies:
        if t["site_code"] in fixed and not t["end_date"]:
            ratio[t["site_code"]] += Decimal(t["agreed_ratio"])
    assert fixed and set(ratio.values()) == {Decimal(100)}
    accounts = rows(w.master["accounts"])
    direct = [Decimal(a["合同单价"]) for a in accounts if a["供电方式"] == "DIRECT"]
    resupply = [Decimal(a["合同单价"]) for a in accounts if a["供电方式"] == "RESUPPLY"]
    assert max(direct) <= Decimal("0.75") and max(resupply) <= Decimal("2.3")
    assert sum(p > 1 for p in resupply) / len(resupply) >= 0.85  # resupply: mostly above 1.0
    assert {a["缴费周期"] for a in accounts if a["供电方式"] == "RESUPPLY"} >= {"1", "3"}


def test_generated_province_imports_and_audits_catch_the_injected_anomalies(db, tmp_path):
    from towerledger.synth.commands import import_files

    w = generate(tmp_path, 400, 6, seed=3, today=TODAY, anomaly_rate=0.02)
    import_files(w)
    quality = measure(w.truth)
    assert sum(n for _, n in quality.recall.values()) >= 20
    for kind, (caught, injected) in quality.recall.items():
        assert caught / injected >= 0.95, (kind, caught, injected)
    assert quality.clean_warn_rate <= 0.05, quality.clean_warn_by_rule
    users = {u.username for u in ensure_demo_users()}
    assert users == {"admin", "clerk", "cmcc", "ctcc", "viewer"}


@pytest.mark.django_db
def test_demo_users_can_log_in(tmp_path):
    from django.contrib.auth import authenticate

    from towerledger.synth.commands import import_files

    import_files(generate(tmp_path, 60, 1, seed=5, today=TODAY))
    for u in ensure_demo_users():
        assert authenticate(username=u.username, password=u.password) is not None


@pytest.mark.django_db
def test_the_demo_year_is_replayed_closed_month_by_month_and_tells_its_story(tmp_path):
    from django.utils import timezone

    from towerledger.analysis.books import check_books
    from towerledger.analysis.kpi import rates
    from towerledger.analysis.models import Snapshot
    from towerledger.ledger.models import MonthClose
    from towerledger.settlement.models import Dispute
    from towerledger.synth.commands import build_story

    today = timezone.localdate()
    written = generate(tmp_path, 80, 6, seed=3, today=today)
    build_story(written, seed=3)
    closed = list(MonthClose.objects.filter(status="CLOSED").order_by("month"))
    assert len(closed) == 6            # every month of history has ended and is closed
    t0 = [rates(Snapshot.objects.get(month=m.month, level="PROVINCE", operator="*")
                .figures)["t0"] for m in closed]
    t0 = [x for x in t0 if x is not None]
    assert t0[-1] > t0[0]              # allocation catches up with payment over the year
    assert check_books() == []
    assert {d.status for d in Dispute.objects.all()} >= {"ACCEPTED", "PARTIAL", "REJECTED"}
    # disputes are raised and answered in the replayed months, not all on the day of the run
    for d in Dispute.objects.exclude(answered_at=None):
        raised = timezone.localtime(d.raised_at).date()
        assert raised == min(d.line.push_date + timedelta(days=2), today)
        assert d.raised_at <= d.answered_at <= timezone.now()
    months = {timezone.localtime(d.raised_at).date().replace(day=1)
              for d in Dispute.objects.all()}
    assert len(months) >= 4
