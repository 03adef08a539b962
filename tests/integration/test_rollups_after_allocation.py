"""The rollups an allocation's inserts keep (analysis.rollups' triggers; on PostgreSQL a new
line that is a chain of its own is written to ``ChainBalance`` directly) equal their
recomputation from the lines (``rollups.rebuild``): right after the allocation, and after a
dispute's adjustment joined a chain. On both databases."""

from towerledger.analysis import rollups
from towerledger.analysis.models import (
    ChainBalance,
    LedgerFigures,
    LedgerSites,
    LedgerTotals,
    LineTotals,
    StatementModes,
    StatementPaid,
)
from towerledger.settlement import services as settlement
from towerledger.settlement.models import Line

ROLLUPS = (LedgerFigures, LedgerTotals, LineTotals, LedgerSites, ChainBalance, StatementPaid,
           StatementModes)
# the counts and sums of the rows that are only kept (ChainBalance's are whole rows)
FIGURES = {"lines", "sites", "paid", *rollups.FIGURES, *rollups.LINE_SUMS}


def _rows() -> dict:
    """Every rollup's rows without their serial key (a rebuild numbers them anew), less
    the rows whose figures all came back to zero (a status a line left: the triggers keep
    its row at zero, a rebuild has none)."""
    out = {}
    for model in ROLLUPS:
        fields = [f.attname for f in model._meta.concrete_fields
                  if not (f.primary_key and f.get_internal_type() == "BigAutoField")]
        figures = [i for i, f in enumerate(fields) if f in FIGURES]
        out[model.__name__] = sorted(
            (row for row in model.objects.values_list(*fields)
             if not figures or any(row[i] for i in figures)), key=repr)
    return out


def assert_as_rebuilt():
    kept = _rows()
    rollups.rebuild()
    assert _rows() == kept


def test_rollups_kept_by_allocation_equal_their_rebuild(province, users, tmp_path):
    from tests.integration.test_settlement import paid_may

    paid_may(tmp_path, users)
    assert Line.objects.filter(status="PUSHED").exists()
    assert Line.objects.filter(status="TOWER").exists()     # no chain of their own
    assert ChainBalance.objects.count() == Line.objects.filter(status="PUSHED").count()
    assert_as_rebuilt()
    line = Line.objects.filter(operator__code="CMCC", status="PUSHED").first()
    dispute = settlement.dispute_line(line.pk, users["cmcc"], "KWH", "电量不对")
    settlement.answer_dispute(dispute.pk, users["admin"], "PARTIAL", "核减",
                              new_amount=line.receivable / 2)
    adjustment = Line.objects.get(root=line)
    assert ChainBalance.objects.get(chain=line.pk).version == adjustment.pk
    assert_as_rebuilt()
