"""包干 lines as the close writes them (settlement.services.lump_sums, written by COPY since
issue 18): every field of the line, its explanation and its journal entry pinned."""

from datetime import date, timedelta
from decimal import Decimal as D

from towerledger.domain.allocation import TenancyIn, lump_sum_line
from towerledger.ledger.models import JournalEntry
from towerledger.settlement import services
from towerledger.settlement.models import Line
from towerledger.sites.models import Tenancy


def test_lump_sum_line_fields_trace_and_entry(province, users):
    today = date(2024, 7, 3)
    Tenancy.objects.filter(tenancy_id="T-LY001-CUCC").update(end_date=date(2024, 6, 10))
    assert services.lump_sums(date(2024, 6, 1), today=today) == 1
    t = Tenancy.objects.select_related("site__county", "operator").get(tenancy_id="T-LY001-CUCC")
    line = Line.objects.get(kind="LUMP_SUM", month=date(2024, 6, 1))
    assert (line.site_id, line.city_id, line.tenancy_id, line.operator_id, line.mode) == (
        t.site_id, t.site.county.city_id, t.pk, t.operator_id, "LUMP_SUM")
    assert (line.period_start, line.period_end, line.active_days) == (
        date(2024, 6, 1), date(2024, 6, 10), 10)
    assert (line.share, line.cost_share, line.receivable) == (D("1"), D("266.67"), D("266.67"))
    assert (line.status, line.push_date, line.bill_id) == (Line.Status.PUSHED, today, None)
    assert line.pushed_at is not None
    assert line.confirm_due == today + timedelta(days=10)    # the default agreement
    _, _, trace = lump_sum_line(
        TenancyIn(t.pk, t.tenancy_id, t.operator.code, t.start_date, t.end_date,
                  t.settlement_mode), t.lump_sum_monthly, date(2024, 6, 1), date(2024, 6, 30))
    assert line.explained.trace == trace
    entry = JournalEntry.objects.get(kind="LUMP_SUM", reference=f"T{t.pk}:2024-06")
    assert entry.date == today and entry.memo == "包干 T-LY001-CUCC 2024-06"
    assert sorted((ln.account, ln.site.site_code, ln.operator and ln.operator.code, ln.debit,
                   ln.credit) for ln in entry.lines.select_related("site", "operator")) == [
        ("TOWER_COST", t.site.site_code, None, D("0"), D("266.67")),
        ("UNCONFIRMED", t.site.site_code, "CUCC", D("266.67"), D("0"))]
