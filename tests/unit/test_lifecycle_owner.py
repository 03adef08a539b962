"""One owner of a line's lifecycle (issue 11): outside the receivables core (the
settlement app) and the pure domain, no module filters allocation lines by their status
or names a line status; they ask ``Line.objects.pending()``, ``.confirmed()``,
``line_state(...)`` or ``settlement.receivables`` instead."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "towerledger"
CORE = {"settlement", "domain"}
LINE_ONLY = {"PUSHED", "DISPUTED", "SUPERSEDED", "TOWER"}   # statuses no other model has
QUERY_CALLS = {"filter", "exclude", "get", "Q", "update", "count", "aggregate", "annotate"}


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in CORE or "migrations" in rel.parts:
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _status_keyword(name: str | None) -> bool:
    return bool(name) and (name == "status" or name.startswith("status__")
                           or "lines__status" in name or "line__status" in name)


def violations(rel, tree) -> list[str]:
    found = []
    for node in ast.walk(tree):
        # Line.Status.PUSHED & co.: what a status means is the core's to say
        if isinstance(node, ast.Attribute) and node.attr == "Status" and \
                isinstance(node.value, ast.Name) and node.value.id == "Line":
            found.append(f"{rel}:{node.lineno} names Line.Status")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in QUERY_CALLS:
                continue
            receiver = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
            for kw in node.keywords:
                if not _status_keyword(kw.arg):
                    continue
                values = {c.value for c in ast.walk(kw.value) if isinstance(c, ast.Constant)}
                if "line__" in kw.arg or "lines__" in kw.arg or "Line" in receiver \
                        or "line" in receiver.lower() or values & LINE_ONLY:
                    found.append(f"{rel}:{node.lineno} filters lines by {kw.arg}")
    return found


def test_no_module_outside_the_core_filters_lines_by_status():
    found = [v for rel, tree in _modules() for v in violations(rel, tree)]
    assert found == []


def test_the_check_finds_a_status_filter():
    """The rule above can fail: it catches the shapes it forbids."""
    bad = ast.parse(
        "Line.objects.filter(status=Line.Status.PUSHED)\n"
        "qs.filter(line__status='CONFIRMED')\n"
        "Bill.objects.annotate(n=Count('lines', filter=Q(lines__status='PUSHED')))\n"
        "qs.exclude(status__in=['TOWER', 'SUPERSEDED'])\n")
    found = violations("x.py", bad)
    assert len(found) == 5, found
    ok = ast.parse("Bill.objects.filter(status='PAID')\nLine.objects.pending()\n")
    assert violations("y.py", ok) == []
