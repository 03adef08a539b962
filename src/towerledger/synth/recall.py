"""Audit quality against the generator's ground truth: recall per injected anomaly kind,
and the share of clean bills that carry a WARN flag (per rule)."""

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from towerledger.bills.models import Bill, Flag


@dataclass
class Quality:
    recall: dict[str, tuple[int, int]]          # kind → (caught, injected)
    clean_bills: int
    clean_warned: int                            # clean bills with at least one WARN flag
    clean_warn_by_rule: dict[str, int]

    @property
    def clean_warn_rate(self) -> float:
        return self.clean_warned / self.clean_bills if self.clean_bills else 0.0


def measure(truth_csv: Path) -> Quality:
    with truth_csv.open(encoding="utf-8") as f:
        truth = list(csv.DictReader(f))
    anomalous = {(t["account_no"], t["bill_no"]) for t in truth}
    codes = defaultdict(set)
    for acc, no, code in Flag.objects.values_list("bill__account__account_no", "bill__bill_no",
                                                  "code").iterator(chunk_size=10000):
        codes[acc, no].add(code)
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in truth:
        hit = codes.get((t["account_no"], t["bill_no"]), set()) & set(
            t["expected_codes"].split("|"))
        recall[t["kind"]][0] += bool(hit)
        recall[t["kind"]][1] += 1
    warn_by_rule: Counter = Counter()
    warned = set()
    for acc, no, code in Flag.objects.filter(severity="WARN").values_list(
            "bill__account__account_no", "bill__bill_no", "code").iterator(chunk_size=10000):
        if (acc, no) not in anomalous:
            warn_by_rule[code] += 1
            warned.add((acc, no))
    clean = sum(1 for key in Bill.objects.values_list("account__account_no", "bill_no")
                .iterator(chunk_size=10000) if tuple(key) not in anomalous)
    return Quality({k: tuple(v) for k, v in recall.items()}, clean, len(warned),
                   dict(warn_by_rule))
