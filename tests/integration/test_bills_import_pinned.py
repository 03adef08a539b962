"""Bill intake pinned on a generated province: the bills, audit flags, payment entries and
audit-log entries that importing six months of a 300-site province writes, as a digest.

The digest was taken with the bill import of aac8b17 (one audit pass per bill in Python,
payments posted entry by entry through ledger.services.post_entries); any rewrite of the
bill path (set-wise audits, set-wise postings) must write exactly the same rows. On a
mismatch the rows are written to $TOWERLEDGER_PIN_DUMP (a file) for a diff.
"""

import hashlib
import json
import os
from datetime import date

import pytest

from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill, Flag
from towerledger.domain.audits import ALLOCATION_RULES
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.synth.files import generate

TODAY = date(2026, 11, 25)
PINNED = "a2e72bbd26d13e0d6a45ac0a774bc30b56608f6c681afca1e52170241709026b"


def _rows() -> dict[str, list]:
    key = {b["pk"]: f"{b['account__account_no']}/{b['bill_no']}#{b['dup_seq']}"
           for b in Bill.objects.values("pk", "account__account_no", "bill_no", "dup_seq")}
    bills = sorted(
        [key[b[0]], *map(str, b[1:])] for b in Bill.objects.values_list(
            "pk", "period_start", "period_end", "start_reading", "end_reading", "multiplier",
            "loss_kwh", "kwh", "unit_price", "amount", "input_tax", "invoice_type",
            "meter_changed", "old_meter_end_reading", "new_meter_start_reading", "status",
            "paid_date", "payment_ref", "requested_paid_date", "blocking", "warnings"))
    flags = sorted(
        [key[f[0]], *map(str, f[1:6]), json.dumps(f[6], sort_keys=True)]
        for f in Flag.objects.exclude(code__in=ALLOCATION_RULES).values_list(
            "bill_id", "code", "severity", "status", "message_zh", "message_en", "figures"))
    entries = sorted(
        list(map(str, e)) for e in JournalEntry.objects.filter(kind="PAYMENT").values_list(
            "date", "kind", "reference", "memo"))
    lines = sorted(
        list(map(str, x)) for x in JournalLine.objects.filter(entry__kind="PAYMENT")
        .values_list("entry__reference", "account", "site__site_code", "debit", "credit"))
    log = sorted(
        [a[0], a[1], key.get(int(a[2]), a[2]) if a[1] == "bill" else a[2],
         json.dumps(a[3], sort_keys=True), json.dumps(a[4], sort_keys=True), a[5]]
        for a in AuditEntry.objects.filter(action__in=("pay", "import")).values_list(
            "action", "object_type", "object_key", "before", "after", "reason"))
    return {"bills": bills, "flags": flags, "entries": entries, "lines": lines, "log": log}


@pytest.mark.django_db
def test_bill_import_writes_the_pinned_rows(tmp_path, settings):
    from towerledger.synth.commands import import_files

    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False   # the allocation is not the bill path's
    written = generate(tmp_path, 300, 6, seed=11, today=TODAY, anomaly_rate=0.03,
                       smart_months=2)
    import_files(written)
    # the same bill files again: nothing new (every bill unchanged, nothing paid twice)
    for month in written.months:
        import_files(type(written)(written.out, months=[{"bills": month["bills"]}]))
    rows = _rows()
    assert len(rows["bills"]) > 1000 and len(rows["flags"]) > 50 and len(rows["lines"]) > 500
    assert sum(1 for r in rows["log"] if r[0] == "pay") == len(rows["entries"])
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    if digest != PINNED and os.environ.get("TOWERLEDGER_PIN_DUMP"):
        with open(os.environ["TOWERLEDGER_PIN_DUMP"], "w") as f:
            json.dump(rows, f, indent=0, ensure_ascii=False, sort_keys=True)
    assert digest == PINNED
