"""A line's lifecycle (DOMAIN.md §4) as data: its states, the events that move it, and the
one table of allowed transitions every service asks instead of checking statuses by hand.

::

    ALLOCATED ──push──▶ PUSHED ──confirm──▶ CONFIRMED            (receivable)
        │                 │ ├───deem─────▶ DEEMED               (receivable)
        │                 │ └──dispute──▶ DISPUTED ──answer──▶ SUPERSEDED
        └───bear────▶ TOWER                   (the answer pushes an adjustment line)

* ALLOCATED is a line computed but not yet pushed: allocation either pushes it to its
  tenancy's operator or, when nobody can confirm it (the site's remainder), the tower bears it;
  a province's BLOCK policy on an allocation finding stores it held until it is resolved.
* CONFIRMED, DEEMED, SUPERSEDED and TOWER are terminal: pushed and confirmed lines are
  immutable, every later change is a new (ADJUSTMENT) line referencing the one it replaces.
* An answer (ACCEPT, PARTIAL or REJECT) supersedes the disputed line by an adjustment
  carrying the amount now asked; one asking nothing is confirmed at birth (nothing to confirm).
* Collection is derived, not an event: a receivable line is UNPAID, PARTLY_WRITTEN_OFF or
  WRITTEN_OFF by what its live applications have written off against its receivable.

The database keeps its own spelling (``Line.status`` plus the ``deemed`` flag); ``state_of``
and ``STORED`` translate. Pure Python, no Django.
"""

from decimal import Decimal
from enum import StrEnum

from towerledger.domain.errors import DomainError, ErrorCode


class LineState(StrEnum):
    ALLOCATED = "ALLOCATED"     # computed, not yet stored
    PUSHED = "PUSHED"           # waiting for the operator (待确认)
    CONFIRMED = "CONFIRMED"     # confirmed by the operator (已确认)
    DEEMED = "DEEMED"           # confirm-by date passed, agreement deems it (视同确认)
    DISPUTED = "DISPUTED"       # the operator objected (争议中)
    SUPERSEDED = "SUPERSEDED"   # replaced by an adjustment line (已调账)
    TOWER = "TOWER"             # tower-borne, never pushed (铁塔承担)


class LineEvent(StrEnum):
    PUSH = "PUSH"
    BEAR = "BEAR"
    CONFIRM = "CONFIRM"
    DEEM = "DEEM"
    DISPUTE = "DISPUTE"
    ANSWER = "ANSWER"


S, E = LineState, LineEvent

TRANSITIONS: dict[tuple[LineState, LineEvent], LineState] = {
    (S.ALLOCATED, E.PUSH): S.PUSHED,
    (S.ALLOCATED, E.BEAR): S.TOWER,
    (S.PUSHED, E.CONFIRM): S.CONFIRMED,
    (S.PUSHED, E.DEEM): S.DEEMED,
    (S.PUSHED, E.DISPUTE): S.DISPUTED,
    (S.DISPUTED, E.ANSWER): S.SUPERSEDED,
}

TERMINAL = frozenset(s for s in LineState if not any(frm == s for frm, _ in TRANSITIONS))
RECEIVABLE = frozenset({S.CONFIRMED, S.DEEMED})   # §4: confirmed lines are the receivable

ZH = {S.ALLOCATED: "未推送", S.PUSHED: "待确认", S.CONFIRMED: "已确认", S.DEEMED: "视同确认",
      S.DISPUTED: "争议中", S.SUPERSEDED: "已调账", S.TOWER: "铁塔承担"}

EVENT_ZH = {E.PUSH: "推送", E.BEAR: "由铁塔承担", E.CONFIRM: "确认", E.DEEM: "视同确认",
            E.DISPUTE: "提出争议", E.ANSWER: "处理争议"}

# how each state is stored: (Line.status, Line.deemed); ALLOCATED is stored only while a
# blocking allocation finding holds the bill's lines (HELD, issue 12)
STORED: dict[LineState, tuple[str, bool]] = {
    S.ALLOCATED: ("HELD", False),
    S.PUSHED: ("PUSHED", False), S.CONFIRMED: ("CONFIRMED", False),
    S.DEEMED: ("CONFIRMED", True), S.DISPUTED: ("DISPUTED", False),
    S.SUPERSEDED: ("SUPERSEDED", False), S.TOWER: ("TOWER", False),
}


def state_of(status: str, deemed: bool = False) -> LineState:
    """The state of a stored line (its ``status`` and ``deemed`` flag)."""
    for state, stored in STORED.items():
        if stored == (status, bool(deemed) and status == "CONFIRMED"):
            return state
    raise DomainError(f"未知的明细状态 {status}", f"unknown line status {status}",
                      ErrorCode.INVALID)


def stored_statuses(states) -> list[str]:
    """The ``Line.status`` values holding ``states``, for a database filter."""
    return sorted({STORED[s][0] for s in states})


def transition(state: LineState, event: LineEvent) -> LineState:
    """The state ``event`` moves ``state`` to; DomainError(ILLEGAL_TRANSITION) if not allowed."""
    try:
        return TRANSITIONS[LineState(state), LineEvent(event)]
    except (KeyError, ValueError):
        zh = ZH.get(state, state)
        raise DomainError(f"明细状态为 {zh}，不能 {EVENT_ZH.get(event, event)}",
                          f"a {state} line does not accept {event}",
                          ErrorCode.ILLEGAL_TRANSITION) from None


def replay(events, start: LineState = S.ALLOCATED) -> LineState:
    """The state after ``events`` in order, from ``start``."""
    state = start
    for event in events:
        state = transition(state, event)
    return state


def allows(state: LineState, event: LineEvent) -> bool:
    return (state, event) in TRANSITIONS


def states_allowing(event: LineEvent) -> frozenset[LineState]:
    return frozenset(frm for frm, ev in TRANSITIONS if ev == event)


def may_confirm(state: LineState) -> bool:
    return allows(state, E.CONFIRM)


def may_deem(state: LineState) -> bool:
    return allows(state, E.DEEM)


def may_dispute(state: LineState) -> bool:
    return allows(state, E.DISPUTE)


def may_answer(state: LineState) -> bool:
    return allows(state, E.ANSWER)


def is_receivable(state: LineState) -> bool:
    """Confirmed, explicitly or deemed: the operator owes it (§4)."""
    return state in RECEIVABLE


def adjustment_state(amount: Decimal) -> LineState:
    """Where an answer's adjustment line starts: pushed again for the operator to confirm,
    or, asking nothing (ACCEPT), confirmed at once — there is nothing left to confirm."""
    return replay([E.PUSH] if amount else [E.PUSH, E.CONFIRM])


# ---- collection (derived) ------------------------------------------------------------------

class CollectionState(StrEnum):
    UNPAID = "UNPAID"                           # 未核销
    PARTLY_WRITTEN_OFF = "PARTLY_WRITTEN_OFF"   # 部分核销
    WRITTEN_OFF = "WRITTEN_OFF"                 # 已核销


def collection_state(receivable: Decimal, written_off: Decimal) -> CollectionState:
    """A receivable line's collection by what its live applications wrote off.

    Written off runs from 0 towards the receivable and never past it (a negative line, a
    credit such as RECOVERY_CREDIT, runs towards its negative amount); anything else is a
    write-off the books must never hold, so it is refused rather than classified."""
    receivable, written_off = Decimal(receivable), Decimal(written_off)
    lo, hi = sorted((Decimal(0), receivable))
    if not lo <= written_off <= hi:
        raise DomainError(f"核销金额 {written_off} 超出应收 {receivable}",
                          f"written off {written_off} is beyond the receivable {receivable}",
                          ErrorCode.CONFLICT)
    if written_off == receivable:
        return CollectionState.WRITTEN_OFF
    return CollectionState.UNPAID if not written_off else CollectionState.PARTLY_WRITTEN_OFF


def left_to_write_off(state: LineState, receivable: Decimal, written_off: Decimal) -> Decimal:
    """What receipts may still write off of a line: its receivable less what is written off,
    for a receivable (confirmed or deemed) line; nothing for any other state."""
    if not is_receivable(state):
        return Decimal("0.00")
    collection_state(receivable, written_off)   # refuses an impossible pair
    return Decimal(receivable) - Decimal(written_off)


# ---- line kinds ---------------------------------------------------------------------------

class LineKind(StrEnum):
    """§7: every line kind has its own code so every report can tell them apart."""

    ALLOCATION = "ALLOCATION"                # 分摊: a tenancy's part of a paid bill
    LUMP_SUM = "LUMP_SUM"                    # 电费包干
    ADJUSTMENT = "ADJUSTMENT"                # 调账: replaces an earlier line
    RECOVERY_CREDIT = "RECOVERY_CREDIT"      # 追缴退还: theft recovery credited back (negative)
    SAVINGS_SHARE = "SAVINGS_SHARE"          # 效益分成
    RENT = "RENT"                            # 场租
    SITE_FEE_LUMP_SUM = "SITE_FEE_LUMP_SUM"  # 场地费包干
    GENERATOR = "GENERATOR"                  # 油机发电
    OPENING = "OPENING"                      # 历史数据 opening balance
    CREDIT = "CREDIT"                        # 退费: a grid refund credited back (negative)


KIND_ZH = {LineKind.ALLOCATION: "分摊", LineKind.LUMP_SUM: "电费包干",
           LineKind.ADJUSTMENT: "调账", LineKind.RECOVERY_CREDIT: "追缴退还",
           LineKind.SAVINGS_SHARE: "效益分成", LineKind.RENT: "场租",
           LineKind.SITE_FEE_LUMP_SUM: "场地费包干", LineKind.GENERATOR: "油机发电",
           LineKind.OPENING: "期初余额", LineKind.CREDIT: "退费"}

# §6 T+0: allocation lines of bills paid in the month; adjustment, lump-sum and program
# lines are in neither the numerator nor the denominator
T0_KINDS = frozenset({LineKind.ALLOCATION})


def counts_toward_t0(kind: str) -> bool:
    return LineKind(kind) in T0_KINDS
