"""ledger.bulk_post.post_pairs (the bill payments' set-wise posting) writes what
ledger.services.post_entries writes for the same two-line entries: the same entries and
lines, balanced, a reference posted once however often it is retried, a closed month's date
moved to the open month; what post_entries refuses it refuses."""

from datetime import date
from decimal import Decimal

import pytest

from towerledger.domain.journal import Posting, Unbalanced
from towerledger.ledger.bulk_post import post_pairs
from towerledger.ledger.models import JournalEntry, JournalLine, MonthClose
from towerledger.ledger.services import post_entries, trial_balance

pytestmark = pytest.mark.django_db


def _sites():
    # site codes without stored sites (their lines carry no site id either way): the
    # postings are what is compared, and these tests need no province
    return [("S-1", None), ("S-2", None), ("S-3", None)]


def _posted(kind):
    entries = sorted(JournalEntry.objects.filter(kind=kind).values_list(
        "date", "reference", "memo", "created_by_id"))
    lines = sorted(JournalLine.objects.filter(entry__kind=kind).values_list(
        "entry__reference", "account", "site_id", "operator_id", "debit", "credit"))
    return entries, lines


def _rows(sites, prefix):
    return [(date(2026, 10, 1 + i), f"{prefix}-{i}", f"支付 {code}", Decimal(amount), code, pk)
            for i, ((code, pk), amount) in enumerate(zip(
                sites * 2, ("10.00", "0.01", "12345.67", "3.10", "0.00", "99.99"),
                strict=False))]


def test_pairs_post_what_post_entries_posts():
    sites = _sites()
    rows = _rows(sites, "X")
    post_pairs("PAYMENT", "ADVANCE", "CASH", rows)
    post_entries([(d, "TEST", ref, memo, [Posting("ADVANCE", debit=a, site=code),
                                          Posting("CASH", credit=a)])
                  for d, ref, memo, a, code, _ in rows], site_ids=dict(sites))
    pairs, reference = _posted("PAYMENT"), _posted("TEST")
    assert pairs == reference and len(pairs[0]) == 6 and len(pairs[1]) == 12
    # ADVANCE then CASH within each entry, in key order (as post_entries writes them)
    for entry in JournalEntry.objects.filter(kind="PAYMENT"):
        assert [x.account for x in entry.lines.order_by("pk")] == ["ADVANCE", "CASH"]
    debit, credit = trial_balance()["ADVANCE"][0], trial_balance()["CASH"][1]
    assert debit == credit == 2 * sum(r[3] for r in rows)


def test_pairs_retry_posts_nothing_twice_and_closed_months_move():
    sites = _sites()
    rows = _rows(sites, "R")
    post_pairs("PAYMENT", "ADVANCE", "CASH", rows[:2])
    post_pairs("PAYMENT", "ADVANCE", "CASH", rows)          # a retry with more
    assert JournalEntry.objects.filter(kind="PAYMENT").count() == len(rows)
    assert JournalLine.objects.filter(entry__kind="PAYMENT").count() == 2 * len(rows)
    MonthClose.objects.create(month=date(2026, 10, 1), status=MonthClose.Status.CLOSED)
    post_pairs("PAYMENT", "ADVANCE", "CASH", [(date(2026, 10, 5), "LATE", "late",
                                               Decimal("1.00"), *sites[0])])
    assert JournalEntry.objects.get(reference="LATE").date == date(2026, 11, 1)


def test_pairs_refuse_what_post_entries_refuses():
    sites = _sites()
    with pytest.raises(Unbalanced):
        post_pairs("PAYMENT", "ADVANCE", "CASH", [(date(2026, 10, 1), "N", "n",
                                                   Decimal("-1.00"), *sites[0])])
    with pytest.raises(Unbalanced):
        post_pairs("PAYMENT", "ADVANCE", "CASH", [(date(2026, 10, 1), "F", "f",
                                                   Decimal("1.001"), *sites[0])])
    assert not JournalEntry.objects.filter(kind="PAYMENT").exists()
