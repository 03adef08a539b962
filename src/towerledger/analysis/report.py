"""Reading snapshots for tables and pages: one row per scope with its KPI rates."""

from datetime import date
from decimal import Decimal

from towerledger.analysis.kpi import rates
from towerledger.analysis.models import Snapshot


def pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def num(x) -> str:
    return "—" if x is None else f"{Decimal(str(x)):,.2f}"


KPI_COLUMNS = (
    ("scope", "范围 scope", str),
    ("payment_completion", "支付完成率", pct),
    ("t0", "T+0率", pct),
    ("confirmation", "核对率", pct),
    ("recovery", "回收率", pct),
    ("receipt_write_off", "回款核销率", pct),
    ("arrears", "欠费率", pct),
    ("same_year_clearing", "当年结清率", pct),
    ("chains_amount", "推送金额", num),
    ("outstanding", "欠费余额", num),
    ("disputes_open", "未决争议", str),
)


def kpi_rows(month: date, city: str | None = None, operator: str = "*") -> list[dict]:
    """The province and its cities, or one city and its counties, for ``operator``."""
    qs = Snapshot.objects.filter(month=month.replace(day=1), operator=operator)
    if city:
        qs = qs.filter(level__in=["CITY", "COUNTY"]).filter(key=city) | qs.filter(
            level="COUNTY", parent=city)
    else:
        qs = qs.filter(level__in=["PROVINCE", "CITY"])
    order = {"PROVINCE": 0, "CITY": 1, "COUNTY": 2}
    out = []
    for s in sorted(qs, key=lambda s: (order[s.level], s.key)):
        f = s.figures
        out.append({"scope": s.key, "level": s.level, **rates(f),
                    "chains_amount": f.get("chains_amount", 0),
                    "outstanding": f.get("outstanding", 0),
                    "disputes_open": f.get("disputes_open", 0), "figures": f})
    return out
