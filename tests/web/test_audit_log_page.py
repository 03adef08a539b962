"""The audit log page: times in Beijing time, objects by business key linked to their pages,
search by bill number, site code, line id (with or without the L) and statement number, actions in
words in both languages (and every action the code records has words)."""

import ast
import html
import pathlib
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from tests.integration.test_collection import confirmed, month  # noqa: F401
from tests.web.test_pages import login
from towerledger.access.audit import ACTIONS
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill
from towerledger.collection import services
from towerledger.settlement.models import Line
from towerledger.settlement.services import OUTCOMES

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "towerledger"


def _page(client, **query):
    r = client.get(reverse("audit_log"), query)
    assert r.status_code == 200
    return html.unescape(r.content.decode())


def _table(page):
    return page[page.index("<table"):page.index("</table>")]


@pytest.fixture
def logged(confirmed, users):  # noqa: F811
    statements = services.issue_statements(month(), users["admin"])
    return {"bill": Bill.objects.get(bill_no="B-2405"),
            "statement": next(s for s in statements if s.operator.code == "CMCC")}


def test_audit_log_in_beijing_time_with_linked_business_keys(logged, users):
    bill, st = logged["bill"], logged["statement"]
    pay = AuditEntry.objects.get(action="pay", object_key=str(bill.pk))
    AuditEntry.objects.filter(pk=pay.pk).update(at=datetime(2026, 5, 31, 20, 30, 5, tzinfo=UTC))
    admin = login(users["admin"])
    table = _table(_page(admin))
    assert "2026-06-01 04:30:05" in table and "2026-05-31 20:30" not in table
    # the bill by account and number, linked; the statement and a line linked
    assert (f'href="{reverse("bill", args=[bill.pk])}"' in table
            and f"{bill.account.account_no}/{bill.bill_no}" in table)
    assert f'href="{reverse("statement", args=[st.pk])}"' in table and st.number in table
    line = Line.objects.filter(statement=st).first()
    assert f'href="{reverse("line", args=[line.pk])}"' in table
    # actions in words, not codes, in Chinese and in English
    for code in ("pay", "deemed_confirm", "issue"):
        assert f">{code}<" not in table
    assert "支付缴费单" in table and "出具对账单" in table and "逾期视同确认" in table
    admin.post(reverse("set_language"), {"language": "en", "next": "/"})
    table = _table(_page(admin))
    assert "bill paid" in table and "statement issued" in table and "支付缴费单" not in table
    assert "2026-06-01 04:30:05" in table


def test_audit_log_is_searchable_by_business_key(logged, users):
    bill, st = logged["bill"], logged["statement"]
    admin = login(users["admin"])
    # bill number: the payment was logged against the bill's id
    table = _table(_page(admin, q=bill.bill_no))
    assert "支付缴费单" in table and st.number not in table
    # site code: the site's lines (logged as "L<id>") and its bills
    line = Line.objects.filter(statement=st).select_related("site").first()
    table = _table(_page(admin, q=line.site.site_code))
    assert f'href="{reverse("line", args=[line.pk])}"' in table
    other_site = Line.objects.exclude(site=line.site).filter(statement__isnull=False).first()
    if other_site:
        assert f'href="{reverse("line", args=[other_site.pk])}"' not in table
    # line id, with or without the L
    for q in (f"L{line.pk}", str(line.pk)):
        assert f'href="{reverse("line", args=[line.pk])}"' in _table(_page(admin, q=q))
    # statement number, and the action filter offers words
    page = _page(admin, q=st.number)
    assert "出具对账单" in _table(page)
    assert re.search(r'<option value="pay"[^>]*>\s*支付缴费单', page)


def _families() -> dict[str, set]:
    """Actions written as f-strings, by their literal prefix: every value each can take."""
    from towerledger.domain.decommission import STEPS
    from towerledger.domain.savings import CaseEvent

    return {"dispute_": {f"dispute_{o.lower()}" for o in OUTCOMES},
            "theft.": {f"theft.{e.lower()}" for e in CaseEvent},
            "decommission.": {f"decommission.{s.lower()}"
                              for s in (*STEPS, "REFUSED", "REOPEN")}}


def _recorded_actions():
    """Every action the code passes to audit.record / record_many: literal ones, and every
    value of the f-string families (an f-string of no known family is reported as is)."""
    families = _families()
    found = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or len(node.args) < 3:
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in ("record", "record_many"):
                continue
            arg = node.args[1]
            if isinstance(arg, ast.JoinedStr):    # f"dispute_{outcome.lower()}"
                prefix = arg.values[0].value if isinstance(arg.values[0], ast.Constant) else ""
                found |= families.get(prefix, {f"{prefix}… ({path.name})"})
                continue
            found |= {n.value for n in ast.walk(arg)
                      if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return found


def test_every_recorded_action_has_words_in_both_languages():
    actions = _recorded_actions()
    assert {"pay", "deemed_confirm", "user.create", "dispute_partial"} <= actions
    assert actions <= set(ACTIONS), actions - set(ACTIONS)
    for zh, en in ACTIONS.values():
        assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en)
