"""The operator's line page shows the bill behind the line (period, readings, kWh, unit
price, the line's share in kWh) but never the supply account; staff also see the bill's
findings in words. The dispute desk preselects no outcome, asks before sending, and says
that a partial answer's new amount is the receivable, tax factor included."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.integration.test_settlement import lines_of, paid_may
from tests.web.test_pages import login
from towerledger.settlement import services
from towerledger.settlement.models import Dispute

D = Decimal


@pytest.fixture
def paid(province, users, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return paid_may(tmp_path, users)


def test_the_operator_checks_kwh_price_and_readings_on_its_line(paid, users):
    ln = lines_of(paid)["T-ZZ001-CTCC"]
    r = login(users["ctcc_zz"]).get(reverse("line", args=[ln.pk]))
    facts = r.context["bill_facts"]
    assert facts["kwh"] == D("4320") and facts["unit_price"] == D("1.10")
    assert facts["metered_kwh"] == D("4320.00") and facts["readings_agree"]
    assert facts["line_kwh"] == (D("4320") * ln.share).quantize(D("0.01")) == D("391.94")
    body = r.content.decode()
    section = body.split('id="bill-facts"')[1].split("</div>")[0]
    for text in ("2024-05-01 ～ 2024-05-31", "31 天", "14,320.00", "10,000.00", "倍率 1.00",
                 "4,320.00 kWh", "1.1000 元/kWh", "4,752.00 元", "391.94 kWh", "100.00%"):
        assert text in section, text
    # the supply account number appears nowhere on the operator's page, nor the findings
    assert "A-100" not in body and "稽核发现" not in body
    assert not re.search(r"电表户号|Account", body.split("<main")[1])


def test_staff_see_the_bills_findings_in_words_on_the_line_page(paid, users):
    from towerledger.bills.models import Flag

    ln = lines_of(paid)["T-ZZ001-CMCC"]
    Flag.objects.create(bill=paid, code="BENCH_DC", severity="WARN", status="RESOLVED",
                        message_zh="用电量超出直流负载标杆", message_en="above the DC benchmark",
                        figures={"benchmark": "2300.00", "actual": "4320.00",
                                 "threshold": "+20%", "deviation_pct": "87.8",
                                 "new_tenancy": False})
    body = login(users["clerk_zz"]).get(reverse("line", args=[ln.pk])).content.decode()
    findings = body.split('id="line-findings"')[1].split("</div>")[0]
    assert "直流负载标杆电量 2,300.00 kWh" in findings and "偏差 +87.8%" in findings
    assert "new_tenancy" not in findings


def test_the_desk_preselects_nothing_asks_first_and_explains_the_new_amount(paid, users):
    ln = lines_of(paid)["T-ZZ001-CTCC"]
    d = services.dispute_line(ln.pk, users["ctcc_zz"], "KWH", "读数不对")
    clerk = login(users["clerk_zz"])
    body = clerk.get(reverse("disputes")).content.decode()
    card = body.split(f'id="dispute-{d.pk}"')[1]
    select = card.split('name="outcome"')[1].split("</select>")[0]
    assert '<option value="" selected disabled>' in select
    assert re.search(r'value="(ACCEPT|PARTIAL|REJECT)"[^>]*selected', select) is None
    assert f"data-confirm=\"确定将此处理结果提交给 D{d.pk}" in card
    # the new amount is the receivable, tax factor included, with today's figures beside it
    assert "新应收金额（元，含税负因子）" in card
    assert f"{ln.cost_share:,.2f}" in card and "13.00 %" in card and f"{ln.receivable:,.2f}" in card
    # an answer sent without an outcome is refused, and nothing happens
    r = clerk.post(reverse("dispute_answer", args=[d.pk]), {"explanation": "x"}, follow=True)
    assert "请选择处理结果" in r.content.decode()
    assert Dispute.objects.get(pk=d.pk).status == "OPEN"
    # the partial answer's amount is the receivable: split back by the same tax factor
    clerk.post(reverse("dispute_answer", args=[d.pk]), {
        "outcome": "PARTIAL", "new_amount": "400.00", "explanation": "按实测调整"})
    adj = Dispute.objects.get(pk=d.pk).adjustment
    assert adj.receivable == D("400.00") and adj.cost_share + adj.tax_amount == D("400.00")
    assert adj.cost_share == (D("400.00") / (1 + ln.tax_factor)).quantize(D("0.01"))
    # the adjustment's page keeps the bill's figures, and says its amount came from the answer
    body = login(users["ctcc_zz"]).get(reverse("line", args=[adj.pk])).content.decode()
    assert "4,320.00 kWh" in body and "本明细金额由争议处理结果确定" in body
