"""THEFT_SUSPECT (偷电嫌疑): the audit check that turns the job's stored scores into findings.

Registered in ``bills.audit.EXTRA_CHECKS``, so the flag is stored, refreshed, resolved and
whitelisted exactly like every other audit rule's (and re-auditing a bill keeps it while its
score says so). ``services.run_month`` scores the month's bills, then re-audits them.
"""

from decimal import Decimal

from towerledger.bills.models import Whitelist
from towerledger.db.bulk import OneOf
from towerledger.domain.audits import Finding
from towerledger.meters.models import TheftScore

CODE = "THEFT_SUSPECT"


def _s(value) -> str | None:
    return None if value is None else str(value)


def figures(score: TheftScore) -> dict:
    out = {"actual": _s(score.bill_kwh), "score": _s(score.score),
           "new_tenancy": score.new_tenancy, "source": "meters"}
    if score.smart_kwh is not None:
        out["benchmark"] = _s(score.smart_kwh)
        if score.smart_kwh:
            out["deviation_pct"] = _s(((score.bill_kwh / score.smart_kwh - 1) * 100)
                                      .quantize(Decimal("0.1")))
    for key, value in (("dc_benchmark", score.dc_benchmark_kwh),
                       ("baseline_per_day", score.baseline_per_day),
                       ("actual_per_day", score.actual_per_day)):
        if value is not None:
            out[key] = _s(value)
    out["signals"] = ",".join(k for k in ("smart", "dc", "step") if score.signals.get(k)) or "-"
    return out


def messages(score: TheftScore) -> tuple[str, str]:
    smart = "—" if score.smart_kwh is None else f"{score.smart_kwh} kWh"
    dc = "—" if score.dc_benchmark_kwh is None else f"{score.dc_benchmark_kwh} kWh"
    return (f"偷电嫌疑：账单电量 {score.bill_kwh} kWh，智能电表 {smart}，直流负载标杆 {dc}，"
            f"评分 {score.score}",
            f"Suspected theft: {score.bill_kwh} kWh billed, smart meter {smart}, "
            f"DC-load benchmark {dc}, score {score.score}")


def theft_check(bills: list[dict], rules: dict) -> dict:
    """bill pk → [THEFT_SUSPECT finding] for the audited bills the job found suspect."""
    pks = [b["pk"] for b in bills]
    scores = {s.bill_id: s for s in TheftScore.objects.filter(OneOf("bill_id", pks),
                                                               suspect=True)}
    if not scores:
        return {}
    accounts = {b["pk"]: b["account_id"] for b in bills if b["pk"] in scores}
    white = set(Whitelist.objects.filter(OneOf("account_id", set(accounts.values())), code=CODE)
                .values_list("account_id", flat=True))
    out = {}
    for pk, score in scores.items():
        account = accounts[pk]
        rule = rules.get(account, {}).get(CODE)
        if rule is None or not rule.enabled or account in white:
            continue
        zh, en = messages(score)
        out[pk] = [Finding(CODE, rule.severity, zh, en, figures(score))]
    return out
