"""The theft program end to end on the small province (tests/helpers.py), through the real
imports and services: a case from a finding, by hand and from a list; its workflow with who,
when and why; a recovery credited back by cost shares; 12 months of measured savings and
the tower's share charged to the operators — the worked example of docs/programs/theft.md
to the fen."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from tests.helpers import write_csv
from tests.integration.test_bills import BILL_HEADER
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.analysis.close import close_month
from towerledger.bills.models import Bill, Flag
from towerledger.domain.errors import DomainError
from towerledger.domain.months import month_end, next_month
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalLine
from towerledger.org.models import Operator, Province
from towerledger.programs.theft import services
from towerledger.programs.theft.models import (
    Case,
    CaseEvent,
    SavingsMonth,
    ShareCharge,
    TheftSnapshot,
)
from towerledger.settlement.models import Line
from towerledger.sites.models import Site, SupplyAccount

D = Decimal
pytestmark = pytest.mark.django_db

# The worked example (docs/programs/theft.md): account A-100 feeds ZZ001 alone; kWh by month
# and unit price; every bill paid on the 5th of the month after.
KWH = [(date(2024, 2, 1), 8700, "1.10"), (date(2024, 3, 1), 9455, "1.10"),
       (date(2024, 4, 1), 8850, "1.10"), (date(2024, 5, 1), 9610, "1.10"),
       (date(2024, 6, 1), 7200, "1.10"), (date(2024, 7, 1), 7750, "1.10"),
       (date(2024, 8, 1), 8060, "1.10"), (date(2024, 9, 1), 7500, "1.10"),
       (date(2024, 10, 1), 7130, "1.10"), (date(2024, 11, 1), 6900, "1.10"),
       (date(2024, 12, 1), 9610, "1.10"), (date(2025, 1, 1), 7440, "1.15"),
       (date(2025, 2, 1), 6720, "1.15"), (date(2025, 3, 1), 7595, "1.15"),
       (date(2025, 4, 1), 7200, "1.15"), (date(2025, 5, 1), 7750, "1.15")]

# month: (actual per day, days, price, savings, tower share, CMCC, CUCC, CTCC)
EXPECTED = {
    date(2024, 6, 1): ("240.0000", 30, "1.1000", "1996.50", "998.25", "499.13", "311.95", "187.17"),
    date(2024, 7, 1): ("250.0000", 31, "1.1000", "1722.05", "861.03", "430.52", "269.07", "161.44"),
    date(2024, 8, 1): ("260.0000", 31, "1.1000", "1381.05", "690.53", "345.27", "215.79", "129.47"),
    date(2024, 9, 1): ("250.0000", 30, "1.1000", "1666.50", "833.25", "416.63", "260.39", "156.23"),
    date(2024, 10, 1): ("230.0000", 31, "1.1000", "2404.05", "1202.03", "601.02", "375.63", "225.38"),
    date(2024, 11, 1): ("230.0000", 30, "1.1000", "2326.50", "1163.25", "581.63", "363.51", "218.11"),
    date(2024, 12, 1): ("310.0000", 31, "1.1000", "0.00", "0.00", None, None, None),
    date(2025, 1, 1): ("240.0000", 31, "1.1500", "2156.83", "1078.42", "539.21", "337.01", "202.20"),
    date(2025, 2, 1): ("240.0000", 28, "1.1500", "1948.10", "974.05", "487.03", "304.39", "182.63"),
    date(2025, 3, 1): ("245.0000", 31, "1.1500", "1978.58", "989.29", "494.65", "309.15", "185.49"),
    date(2025, 4, 1): ("240.0000", 30, "1.1500", "2087.25", "1043.63", "521.82", "326.13", "195.68"),
    date(2025, 5, 1): ("250.0000", 31, "1.1500", "1800.33", "900.17", "450.09", "281.30", "168.78"),
}


def bill_rows(months=KWH):
    rows = []
    for m, kwh, price in months:
        amount = (D(kwh) * D(price)).quantize(D("0.01"))
        paid = next_month(m) + timedelta(days=4)
        rows.append([f"B-{m:%y%m}", "A-100", m.isoformat(), month_end(m).isoformat(), "", "",
                     "", "", str(kwh), price, str(amount), "", "GENERAL", paid.isoformat(),
                     f"PAY-{m:%y%m}"])
    return rows


def import_bills(tmp_path, months=KWH, name="bills.csv"):
    result = run_import("bills", write_csv(tmp_path / name, BILL_HEADER, bill_rows(months)))
    assert result.stored, [e.text() for e in result.errors]
    return result


def zz001_case(user, detected=date(2024, 5, 5), today=date(2024, 5, 6)):
    return services.open_case(
        user, site=Site.objects.select_related("county__city").get(site_code="ZZ001"),
        account=SupplyAccount.objects.get(account_no="A-100"), suspected_from=date(2024, 2, 1),
        suspected_to=date(2024, 5, 31), detected_on=detected, handler=user, note="表计异常",
        today=today)


def remediated_case(users, tmp_path):
    import_bills(tmp_path)
    clerk = users["clerk_zz"]
    case = zz001_case(clerk)
    services.move(clerk, case.pk, "INVESTIGATE", "现场核查", today=date(2024, 5, 7))
    services.move(clerk, case.pk, "CONFIRM", "发现私接线路", today=date(2024, 5, 10))
    services.move(clerk, case.pk, "REMEDIATE", "拆除私接线路", on=date(2024, 5, 20),
                  today=date(2024, 5, 21))
    return Case.objects.get(pk=case.pk)


def test_worked_example_twelve_months_of_shared_savings_to_the_fen(users, tmp_path):
    case = remediated_case(users, tmp_path)
    assert (case.baseline_per_day, case.baseline_days) == (D("300.5000"), 90)
    assert [e.to_state for e in CaseEvent.objects.filter(case=case)] == [
        "SUSPECTED", "INVESTIGATING", "CONFIRMED", "REMEDIATED"]
    assert all(e.user == users["clerk_zz"] and e.reason for e in case.events.all())
    assert AuditEntry.objects.filter(object_type="theft_case", object_key=case.case_no).count() == 4
    for m in EXPECTED:
        services.run_month(m, users["admin"], today=month_end(m) + timedelta(days=10))
    again = services.run_month(date(2025, 5, 1), users["admin"], today=date(2025, 6, 20))
    assert again == {"measured": 0, "share_lines": 0}   # idempotent
    rows = {sm.month: sm for sm in SavingsMonth.objects.filter(case=case)}
    assert set(rows) == set(EXPECTED)
    ops = {o.code: o.pk for o in Operator.objects.all()}
    for m, (actual, days, price, saving, tower, cmcc, cucc, ctcc) in EXPECTED.items():
        sm = rows[m]
        assert (sm.baseline_per_day, sm.actual_per_day, sm.days, sm.unit_price, sm.savings,
                sm.tower_amount) == (D("300.5000"), D(actual), days, D(price), D(saving),
                                     D(tower)), m
        got = {ln.operator_id: ln for ln in Line.objects.filter(
            pk__in=ShareCharge.objects.filter(savings_month=sm).values("line_id"))}
        if cmcc is None:
            assert not got
            continue
        assert {k: ln.receivable for k, ln in got.items()} == {
            ops["CMCC"]: D(cmcc), ops["CUCC"]: D(cucc), ops["CTCC"]: D(ctcc)}, m
        assert sum(ln.receivable for ln in got.values()) == D(tower)
        line = got[ops["CUCC"]]
        assert (line.kind, line.status, line.month) == ("SAVINGS_SHARE", "PUSHED", m)
        assert line.trace["savings"] == saving and line.trace["cost_share_pct"] == "31.25"
        assert "300.5000" in line.trace["text_zh"] and "50.00%" in line.trace["text_zh"]
    total = SavingsMonth.objects.filter(case=case).aggregate(s=Sum("savings"), t=Sum(
        "tower_amount"))
    assert (total["s"], total["t"]) == (D("21467.74"), D("10733.90"))
    shares = Line.objects.filter(kind="SAVINGS_SHARE").aggregate(s=Sum("receivable"))["s"]
    assert shares == D("10733.90")
    income = JournalLine.objects.filter(account="SHARING_INCOME").aggregate(
        c=Sum("credit"))["c"]
    assert income == D("10733.90")
    assert check_books() == []


def test_a_recovery_is_credited_back_by_cost_shares_of_the_suspected_bills(users, tmp_path):
    case = remediated_case(users, tmp_path)
    clerk = users["clerk_zz"]
    bills = Bill.objects.filter(account__account_no="A-100", period_start__gte=date(2024, 2, 1),
                                period_end__lte=date(2024, 5, 31))
    by_tenancy = {}
    for t, c in Line.objects.filter(bill__in=bills).current().values_list(
            "tenancy__tenancy_id", "cost_share"):
        by_tenancy[t] = by_tenancy.get(t, 0) + c
    # Feb–May: 9,570.00 + 10,400.50 + 9,735.00 + 10,571.00 = 40,276.50; CTCC from 17 May
    assert sum(by_tenancy.values()) == D("40276.50")
    rec = services.record_recovery(clerk, case.pk, amount=D("1000.00"),
                                   received_on=date(2024, 6, 3), payer="张某",
                                   reference="ZJ-2024-001", today=date(2024, 6, 3))
    again = services.record_recovery(clerk, case.pk, amount=D("1000.00"),
                                     received_on=date(2024, 6, 3), payer="张某",
                                     reference="ZJ-2024-001", today=date(2024, 6, 3))
    assert again.pk == rec.pk
    credits = {ln.tenancy.tenancy_id: ln for ln in Line.objects.filter(
        kind="RECOVERY_CREDIT").select_related("tenancy")}
    assert set(credits) == set(by_tenancy)
    assert sum(ln.receivable for ln in credits.values()) == D("-1000.00")
    # largest remainder over the cost shares, by hand: 1000 × share / 40,276.50
    for t, ln in credits.items():
        exact = D(1000) * by_tenancy[t] / D("40276.50")
        assert abs(-ln.receivable - exact) < D("0.01"), t
        assert ln.status == "CONFIRMED" and ln.trace["recovery"] == "ZJ-2024-001"
    cash = JournalLine.objects.filter(entry__kind="THEFT_RECOVERY").values_list(
        "account", "debit", "credit")
    assert set(cash) == {("CASH", D("1000.00"), 0), ("RECOVERY", 0, D("1000.00"))}
    recovery = JournalLine.objects.filter(account="RECOVERY").aggregate(
        d=Sum("debit"), c=Sum("credit"))
    assert recovery["d"] == recovery["c"] == D("1000.00")
    assert check_books() == []
    with pytest.raises(DomainError):
        services.record_recovery(clerk, case.pk, amount=D("5.00"), received_on=date(2024, 6, 3),
                                 payer="x", reference="ZJ-2024-001")
    with pytest.raises(DomainError):   # an operator records nothing
        services.record_recovery(users["cmcc"], case.pk, amount=D("5.00"),
                                 received_on=date(2024, 6, 3), payer="x", reference="ZJ-X")


def test_a_tower_borne_part_is_credited_to_the_tower_last(users, tmp_path):
    """A-200 feeds ZZ002 (70 %, CMCC 60 / CTCC 40) and ZZ003 (30 %, no tenancy: tower-borne)."""
    grid = [["G-2405", "A-200", "2024-05-01", "2024-05-31", "", "", "", "", "3000", "0.62",
             "1860.00", "213.98", "SPECIAL_13", "2024-06-05", "PAY-G2405"]]
    assert run_import("bills", write_csv(tmp_path / "g.csv", BILL_HEADER, grid)).stored
    clerk = users["clerk_zz"]
    case = services.open_case(clerk, site=Site.objects.get(site_code="ZZ002"),
                              account=SupplyAccount.objects.get(account_no="A-200"),
                              suspected_from=date(2024, 5, 1), suspected_to=date(2024, 5, 31),
                              detected_on=date(2024, 6, 6), today=date(2024, 6, 6))
    for ev in ("INVESTIGATE", "CONFIRM"):
        services.move(clerk, case.pk, ev, "核实", today=date(2024, 6, 7))
    services.record_recovery(clerk, case.pk, amount=D("100.00"), received_on=date(2024, 6, 8),
                             payer="李某", reference="ZJ-G", today=date(2024, 6, 8))
    got = {(ln.operator.code if ln.operator_id else "TOWER"): (ln.receivable, ln.cost_share,
                                                               ln.status)
           for ln in Line.objects.filter(kind="RECOVERY_CREDIT")}
    # cost shares 1860 × 70 % × 60 % = 781.20, × 40 % = 520.80, tower 30 % = 558.00
    assert got == {"CMCC": (D("-42.00"), D("-42.00"), "CONFIRMED"),
                   "CTCC": (D("-28.00"), D("-28.00"), "CONFIRMED"),
                   "TOWER": (D("0.00"), D("-30.00"), "TOWER")}
    assert check_books() == []


def test_workflow_refusals_deadlines_and_overdue(users, tmp_path):
    import_bills(tmp_path, KWH[:4])
    clerk = users["clerk_zz"]
    case = zz001_case(clerk)
    assert case.due == date(2024, 5, 6) + timedelta(days=30)
    assert zz001_case(clerk).pk == case.pk       # the same account and date: the same case
    with pytest.raises(DomainError):
        services.move(clerk, case.pk, "REMEDIATE", "跳步", today=date(2024, 5, 7))
    with pytest.raises(DomainError):
        services.move(clerk, case.pk, "INVESTIGATE", "  ", today=date(2024, 5, 7))
    with pytest.raises(DomainError):            # another city's clerk does not see it
        services.move(users["clerk_ly"], case.pk, "INVESTIGATE", "x", today=date(2024, 5, 7))
    qs = Case.objects.all()
    assert not services.overdue_cases(qs, date(2024, 6, 5)).exists()
    assert list(services.overdue_cases(qs, date(2024, 6, 6))) == [case]
    services.set_step_days(users["admin"], Province.objects.get().pk, 10, "省公司要求")
    services.move(clerk, case.pk, "INVESTIGATE", "核查", today=date(2024, 6, 10))
    assert Case.objects.get(pk=case.pk).due == date(2024, 6, 20)
    services.move(clerk, case.pk, "DISMISS", "误报", today=date(2024, 6, 11))
    services.move(clerk, case.pk, "CLOSE", "结案", today=date(2024, 6, 12))
    assert not services.overdue_cases(qs, date(2030, 1, 1)).exists()


def test_a_case_from_a_finding_and_from_a_list(users, tmp_path):
    import_bills(tmp_path, KWH[:4])
    flag = Flag.objects.filter(bill__bill_no="B-2405", code="BENCH_DC").first()
    assert flag is not None, list(Flag.objects.values_list("bill__bill_no", "code"))
    clerk = users["clerk_zz"]
    case = services.open_from_flag(clerk, flag.pk)
    assert (case.source, case.flag_id, case.site.site_code, case.detected_on,
            case.suspected_from) == ("FLAG", flag.pk, "ZZ001", date(2024, 6, 1),
                                     date(2024, 5, 1))
    assert services.open_from_flag(clerk, flag.pk).pk == case.pk
    with pytest.raises(DomainError):
        services.open_from_flag(users["clerk_ly"], flag.pk)
    header = ["站址编码", "电表户号", "疑似起日", "疑似止日", "发现日期", "处理人", "说明"]
    rows = [["ZZ002", "A-200", "2024-04-01", "2024-04-30", "2024-05-10", "clerk_zz", "巡检"],
            ["ZZ001", "A-100", "2024-03-01", "2024-03-31", "2024-04-02", "", ""]]
    result = run_import("theft_cases", write_csv(tmp_path / "cases.csv", header, rows),
                        user=clerk)
    assert result.stored, [e.text() for e in result.errors]
    assert Case.objects.filter(source="IMPORT").count() == 2
    again = run_import("theft_cases", write_csv(tmp_path / "cases.csv", header, rows),
                       user=clerk)
    assert again.stored and Case.objects.filter(source="IMPORT").count() == 2
    bad = run_import("theft_cases", write_csv(tmp_path / "bad.csv", header, [
        ["LY001", "A-100", "2024-03-01", "2024-02-01", "2024-04-02", "nobody", ""]]),
        user=users["admin"])
    assert not bad.stored
    assert {e.column for e in bad.errors} >= {"site_code", "suspected_to", "handler"}


def test_agreements_most_specific_wins_and_operators_see_only_their_lines(users, tmp_path):
    case = remediated_case(users, tmp_path)
    province = Province.objects.get()
    cmcc = Operator.objects.get(code="CMCC")
    services.set_agreement(users["admin"], province_id=province.pk, operator_id=None,
                           program="THEFT", tower_share_pct=D(40),
                           effective_from=date(2024, 1, 1), reason="省协议")
    services.set_agreement(users["admin"], province_id=province.pk, operator_id=cmcc.pk,
                           program="THEFT", tower_share_pct=D(30),
                           effective_from=date(2024, 1, 1), reason="移动协议")
    with pytest.raises(DomainError):
        services.set_agreement(users["clerk_zz"], province_id=province.pk, operator_id=None,
                               program="THEFT", tower_share_pct=D(10),
                               effective_from=date(2024, 1, 1), reason="x")
    assert services.tower_share(province.pk, cmcc.pk, "THEFT", date(2024, 6, 1)) == D("0.3")
    assert services.tower_share(province.pk, None, "THEFT", date(2024, 6, 1)) == D("0.4")
    assert services.tower_share(province.pk, None, "TRADING", date(2024, 6, 1)) == D("0.5")
    services.run_month(date(2024, 6, 1), users["admin"], today=date(2024, 7, 10))
    got = {ln.operator.code: ln.receivable for ln in Line.objects.filter(kind="SAVINGS_SHARE")}
    # 1,996.50 × 40 % = 798.60 over 50 / 31.25 / 18.75 %: CUCC 249.56(25), CTCC 149.74 (by
    # largest remainder); CMCC at its own 30 %: 1,996.50 × 30 % × 50 % = 299.475 → 299.48
    assert got == {"CMCC": D("299.48"), "CUCC": D("249.56"), "CTCC": D("149.74")}
    from towerledger.access.scope import scoped
    from towerledger.programs.theft.models import SavingsMonth as SM
    assert not scoped(users["cmcc"], Case.objects.all()).exists()
    assert not scoped(users["cmcc"], SM.objects.all()).exists()
    mine = scoped(users["cmcc"], ShareCharge.objects.all())
    assert {c.line.operator.code for c in mine} == {"CMCC"}
    assert scoped(users["clerk_zz"], Case.objects.all()).get() == case
    assert not scoped(users["clerk_ly"], Case.objects.all()).exists()


def test_the_month_close_measures_shares_and_snapshots(users, tmp_path):
    remediated_case(users, tmp_path)
    mc = close_month(date(2024, 6, 1), users["admin"], as_of=date(2024, 7, 20))
    assert mc.summary["programs"]["theft"] == {"measured": 1, "share_lines": 3}
    snap = TheftSnapshot.objects.get(month=date(2024, 6, 1))
    assert snap.figures["savings"] == "1996.50" and snap.figures["tower_share"] == "998.25"
    assert snap.figures["cases"]["REMEDIATED"] == 1


def test_pages_for_each_role(users, tmp_path, client):
    from django.test import Client

    case = remediated_case(users, tmp_path)
    services.record_recovery(users["clerk_zz"], case.pk, amount=D("100.00"),
                             received_on=date(2024, 6, 3), payer="张某", reference="ZJ-P")
    services.run_month(date(2024, 6, 1), users["admin"], today=date(2024, 7, 10))
    flag = Flag.objects.filter(bill__bill_no="B-2405", code="BENCH_DC").first()
    pages = ["/programs/theft/", "/programs/theft/?overdue=1&state=REMEDIATED", f"/programs/theft/{case.pk}/",
             "/programs/theft/new/", "/programs/theft/agreements/", "/programs/savings/?first=2024-05&last=2024-07",
             f"/bills/{flag.bill_id}/"]
    for who in ("admin", "clerk_zz", "viewer"):
        c = Client()
        c.force_login(users[who])
        for url in pages:
            r = c.get(url)
            expected = 404 if (who == "viewer" and url == "/programs/theft/new/") else 200
            assert r.status_code == expected, (who, url, r.status_code)
    c = Client()
    c.force_login(users["clerk_zz"])
    # remediated on 2024-05-21, its closing step due 30 days later: overdue today
    todo = {t.key: t for t in c.get("/").context["tasks"]}
    assert (todo["theft_overdue"].count, todo["theft_overdue"].due) == (1, date(2024, 6, 20))
    assert c.get("/programs/theft/?overdue=1").context["page"].paginator.count == 1
    body = c.get(f"/programs/theft/{case.pk}/").content.decode()
    assert "1,996.50" in body and "300.5000" in body and "ZJ-P" in body
    r = c.get("/programs/savings/?first=2024-05&last=2024-07")
    row = dict(r.context["rows"][1])
    assert (row["month"], row["theft"], row["shares"]) == (date(2024, 6, 1), D("1996.50"),
                                                           D("998.25"))
    assert c.get("/programs/savings/?first=2024-05&last=2024-07&format=xlsx").status_code == 200
    bill_page = c.get(f"/bills/{flag.bill_id}/").content.decode()
    assert 'class="theft-case"' not in bill_page and f"/programs/theft/from-flag/{flag.pk}/" in bill_page
    r = c.post(f"/programs/theft/from-flag/{flag.pk}/")
    new = Case.objects.get(flag=flag)
    assert r.status_code == 302 and r["Location"] == f"/programs/theft/{new.pk}/"
    assert f"/programs/theft/{new.pk}/" in c.get(f"/bills/{flag.bill_id}/").content.decode()
    op = Client()
    op.force_login(users["cmcc"])
    for url in pages[:5]:
        assert op.get(url).status_code == 404, url
    r = op.get("/programs/savings/?first=2024-05&last=2024-07")
    assert r.status_code == 200
    row = dict(r.context["rows"][1])
    # CMCC: its share line 499.13; its part of the saving 1,996.50 × 50 % = 998.25
    assert (row["theft"], row["shares"]) == (D("998.25"), D("499.13"))
    assert "savings-ranking" not in r.content.decode()


def test_api_reads_are_scoped(users, tmp_path, client):
    from tests.api.conftest import call
    from towerledger.api.tokens import create_token

    case = remediated_case(users, tmp_path)
    services.record_recovery(users["clerk_zz"], case.pk, amount=D("100.00"),
                             received_on=date(2024, 6, 3), payer="张某", reference="ZJ-A")
    services.run_month(date(2024, 6, 1), users["admin"], today=date(2024, 7, 10))
    token = {n: create_token(users[n], n)[1] for n in ("admin", "cmcc", "clerk_ly")}
    r = call(client, "/api/v1/theft/cases", token["admin"]).json()
    assert [c["case_no"] for c in r["items"]] == [case.case_no]
    assert r["items"][0]["baseline_per_day"] == "300.5000"
    assert call(client, "/api/v1/theft/cases", token["cmcc"]).status_code == 403
    assert call(client, "/api/v1/theft/cases", token["clerk_ly"]).json()["count"] == 0
    sav = call(client, "/api/v1/theft/savings", token["admin"]).json()["items"]
    assert [(s["month"], s["savings"], s["tower_amount"]) for s in sav] == [
        ("2024-06-01", "1996.50", "998.25")]
    mine = call(client, "/api/v1/theft/savings", token["cmcc"]).json()["items"]
    assert [(s["savings"], s["tower_amount"]) for s in mine] == [("1996.50", "499.13")]
    shares = call(client, "/api/v1/theft/shares", token["cmcc"]).json()["items"]
    assert [(s["operator"], s["receivable"]) for s in shares] == [("CMCC", "499.13")]
    assert "1996.50" in shares[0]["explanation_zh"]
    assert len(call(client, "/api/v1/theft/shares", token["admin"]).json()["items"]) == 3
    credits = call(client, "/api/v1/theft/credits", token["cmcc"]).json()["items"]
    assert {c["operator"] for c in credits} == {"CMCC"} and credits[0]["reference"] == "ZJ-A"


def test_meter_suspicion_opens_a_meter_case_and_evidence_is_screened(users, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from towerledger.programs.theft.models import CaseEvidence

    import_bills(tmp_path, KWH[:4])
    bill = Bill.objects.get(bill_no="B-2404")
    flag = Flag.objects.create(bill=bill, code="THEFT_SUSPECT", severity="WARN",
                               message_zh="疑似偷电", message_en="theft suspected",
                               figures={"sites": [{"site": "ZZ001", "message": "x"}]})
    case = services.open_from_flag(users["clerk_zz"], flag.pk)
    assert (case.source, case.site.site_code, case.detected_on) == ("METER", "ZZ001",
                                                                    date(2024, 5, 1))
    c = Client()
    c.force_login(users["clerk_zz"])
    fake = SimpleUploadedFile("现场照片.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    c.post(f"/programs/theft/{case.pk}/evidence/", {"file": fake})
    assert not CaseEvidence.objects.exists()
    real = SimpleUploadedFile("现场照片.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n",
                              "application/pdf")
    r = c.post(f"/programs/theft/{case.pk}/evidence/", {"file": real})
    assert r.status_code == 302 and CaseEvidence.objects.get().name == "现场照片.pdf"
    got = c.get(f"/programs/theft/evidence/{CaseEvidence.objects.get().pk}/")
    assert got.status_code == 200 and b"".join(got.streaming_content).startswith(b"%PDF")
    op = Client()
    op.force_login(users["cmcc"])
    assert op.get(f"/programs/theft/evidence/{CaseEvidence.objects.get().pk}/").status_code == 404
