"""What pages and reports call codes whose one table lives below the web: audit rules
(domain.audits), causes of a tower-borne cost (domain.allocation), ageing buckets and price
bands (analysis.kpi), the close's steps (analysis.close). Picked in the page's language here,
never copied; statuses come from their model's choices."""

from django.utils.translation import get_language

from towerledger.access.audit import ACTIONS, OBJECTS
from towerledger.analysis.close import STEP_LABELS
from towerledger.analysis.kpi import AGE_BUCKETS
from towerledger.domain.allocation import TOWER_REASONS
from towerledger.domain.audits import RULE_LABELS
from towerledger.domain.codes import EN, ZH

OTHER = ("其他", "other")
AGE_LABELS = {name: f"{lo}–{hi}" if hi else f"> {lo - 1}" for lo, hi, name in AGE_BUCKETS}
BAND_LABELS = {"lt_1_0": "< 1.0", "1_0_to_1_3": "1.0–1.3", "gt_1_3": "> 1.3"}  # yuan/kWh


def zh() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def pick(pair: tuple[str, str]) -> str:
    """The Chinese or English of a ``(zh, en)`` pair, as the page is."""
    return pair[0] if zh() else pair[1]


def rule_label(code: str, with_code: bool = False) -> str:
    label = pick(RULE_LABELS.get(code, (code, code)))
    return f"{code} {label}" if with_code else label


def reason_label(reason: str) -> str:
    """A cause of a tower-borne cost; ``other`` gathers what the allocation did not name."""
    return pick(TOWER_REASONS.get(reason) or (OTHER if reason == "other" else (reason, reason)))


def reason_order(reason: str) -> int:
    """The allocation trace's order of causes; unknown ones last."""
    return list(TOWER_REASONS).index(reason) if reason in TOWER_REASONS else len(TOWER_REASONS)


def step_label(step: str) -> str:
    return pick(STEP_LABELS[step]) if step in STEP_LABELS else step


def action_label(code: str) -> str:
    """An audit-log action in words (access.audit.ACTIONS); an unknown code stays as is."""
    return pick(ACTIONS[code]) if code in ACTIONS else code


def object_label(kind: str) -> str:
    """An audit-log object type in words; an import's type is its file kind."""
    if kind in OBJECTS:
        return pick(OBJECTS[kind])
    return f"导入文件（{kind}）" if zh() else f"imported file ({kind})"


def code_label(code) -> str:
    """A code (operator, site type, supply mode, invoice type …) for the page: in Chinese
    the code and its Chinese name (the code is what files and the CLI use), in English
    its English name only."""
    if not code:
        return ""
    if zh():
        return f"{code} {ZH.get(code, '')}".strip()
    return EN.get(code, code)
