"""The rent program in the synthetic province (hooks: see synth.programs).

* ``begin``: about a third of the sites have a landlord contract, imported as the city
  offices keep them (GBK CSV, Chinese headers): persons and village committees, 3,000–15,000
  yuan a year (a few far above their city's median), monthly / quarterly / yearly, in
  advance or in arrears, some with 3 % or a fixed step a year, most passed through by
  tenancy, some by agreed ratio, a few borne by the tower; a few short leases end soon
  (renewals). A few tenancies pay a lump-sum site fee instead of their rent share.
* ``month``: the schedule items due in the month are paid on their day and
  passed through as RENT lines; about one in twenty is left unpaid (overdue).
* ``end``: the benchmark findings as of today.

Its own random stream, so the other programs' demo data does not change with it.
"""

import csv
import random
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

CONTRACT_HEADER = ["合同编号", "站址编码", "业主", "业主类型", "开户行", "银行账号", "起租日期",
                   "到期日期", "年租金", "付款周期", "付款方式", "递增方式", "年递增率", "年递增额",
                   "押金", "分摊方式"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国秀英志强丽华红梅军伟芳敏静磊洋勇艳杰娟涛明超霞平刚"


def _write(name: str, header, rows) -> Path:
    path = Path(tempfile.mkdtemp(prefix="rent-demo-")) / name
    with path.open("w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _add_months(d, n):
    from towerledger.domain.rent import add_months

    return add_months(d, n)


def begin(user, rng, first_month, today):
    from towerledger.exchange.services import run_import
    from towerledger.programs.rent.services import save_site_fee
    from towerledger.sites.models import Site, Tenancy

    r = random.Random("rent-begin")
    sites = list(Site.objects.filter(status="ACTIVE").order_by("site_code")
                 .values_list("site_code", flat=True))
    rows, chosen = [], []
    for code in sites:
        if r.random() > 0.35:
            continue
        chosen.append(code)
        start = _add_months(first_month, r.choice([0, 0, 0, 1, 2]))
        months = r.choice([6, 12, 36, 36, 60, 60])
        end = _add_months(start, months) - timedelta(days=1)
        rent = Decimal(r.randrange(3000, 15000, 100))
        if r.random() < 0.04:
            rent *= Decimal("2.5")          # far above its peers: a benchmark finding
        esc = r.choice(["不递增", "不递增", "按比例", "定额递增"])
        org = r.random() < 0.3
        landlord = (f"{r.choice(['东', '西', '南', '北', '新'])}{r.choice(['庄', '湾', '岗', '营'])}村委会"
                    if org else r.choice(SURNAMES) + r.choice(GIVEN) + r.choice(GIVEN))
        rows.append([f"HT-{code}", code, landlord, "单位" if org else "个人", "农村信用社",
                     f"62284800{r.randrange(10**10, 10**11)}", start.isoformat(),
                     end.isoformat(), rent, r.choice(["月付", "季付", "季付", "年付"]),
                     r.choice(["先付", "先付", "后付"]), esc,
                     "3" if esc == "按比例" else "", "300" if esc == "定额递增" else "",
                     (rent / 4).quantize(Decimal("1")),
                     r.choices(["按租户", "按比例", "铁塔承担"], [75, 18, 7])[0]])
    if not rows:
        return
    result = run_import("rent_contracts", _write("场租合同.csv", CONTRACT_HEADER, rows), user,
                        reason="演示：业主合同台账 demo landlord contracts")
    if not result.stored:
        raise RuntimeError(f"demo rent contracts did not import: {result.errors[:3]}")
    tenancies = list(Tenancy.objects.filter(site__site_code__in=chosen, end_date__isnull=True)
                     .order_by("tenancy_id"))
    for t in tenancies:
        if r.random() < 0.06:
            save_site_fee(t, Decimal(r.randrange(200, 900, 10)), first_month, user=user,
                          reason="演示：场地费包干协议 demo site fee")


def month(user, rng, month, today):
    """Pay what falls due in the month, each on its day (the services directly: an import
    pushes its lines on the day it runs, the replay on the payment's day)."""
    from towerledger.domain.months import month_end
    from towerledger.programs.rent.models import ScheduleItem
    from towerledger.programs.rent.services import record_payment

    r = random.Random(f"rent-{month:%Y-%m}")
    last = min(month_end(month), today)
    due = (ScheduleItem.objects.filter(due_date__range=(month, last), cancelled=False,
                                       payment__isnull=True)
           .select_related("contract__site").order_by("contract__contract_no", "seq"))
    for i in due:
        if r.random() < 0.05:
            continue                       # left unpaid: overdue
        paid = min(i.due_date + timedelta(days=r.randint(0, 5)), today)
        record_payment(i.contract, payment_no=f"FK-{i.contract.contract_no[3:]}-{i.seq}",
                       paid_date=paid, seq=i.seq, user=user, today=paid,
                       reason="演示：场租付款 demo rent payment")


def end(user, rng, today):
    from towerledger.programs.rent.services import refresh_findings

    refresh_findings(today)
