"""The line lifecycle (DOMAIN.md §4): the transition table, its states and events, and the
derived collection state, exercised by random event sequences and random write-offs."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain import lifecycle as lc
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.lifecycle import (
    CollectionState,
    LineEvent,
    LineKind,
    LineState,
    collection_state,
    transition,
)

S, E = LineState, LineEvent
states = st.sampled_from(list(LineState))
events = st.sampled_from(list(LineEvent))
event_lists = st.lists(events, max_size=12)
fen = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False,
                  allow_infinity=False)


def walk(start, evs):
    """Apply what the machine allows, skip (and check the refusal of) what it does not."""
    path = [start]
    for ev in evs:
        try:
            path.append(transition(path[-1], ev))
        except DomainError as exc:
            assert exc.code == ErrorCode.ILLEGAL_TRANSITION
            assert not lc.allows(path[-1], ev)
    return path


def test_the_life_of_a_line_in_section_4():
    assert lc.replay([E.PUSH, E.CONFIRM]) == S.CONFIRMED
    assert lc.replay([E.PUSH, E.DEEM]) == S.DEEMED
    assert lc.replay([E.PUSH, E.DISPUTE, E.ANSWER]) == S.SUPERSEDED
    assert lc.replay([E.BEAR]) == S.TOWER
    assert lc.adjustment_state(Decimal("12.30")) == S.PUSHED     # PARTIAL or REJECT: again
    assert lc.adjustment_state(Decimal("0.00")) == S.CONFIRMED   # ACCEPT: nothing to confirm


@pytest.mark.parametrize("state,event", [
    (S.CONFIRMED, E.DISPUTE),      # confirmed lines are immutable: disputes come before
    (S.DEEMED, E.CONFIRM),
    (S.DISPUTED, E.CONFIRM),       # a disputed line waits for the answer
    (S.DISPUTED, E.DISPUTE),       # one open dispute per line
    (S.SUPERSEDED, E.ANSWER),      # answered twice
    (S.TOWER, E.PUSH),
    (S.PUSHED, E.PUSH),
    (S.PUSHED, E.ANSWER),          # nothing to answer
])
def test_illegal_transitions_raise_a_coded_bilingual_error(state, event):
    with pytest.raises(DomainError) as caught:
        transition(state, event)
    exc = caught.value
    assert exc.code == ErrorCode.ILLEGAL_TRANSITION
    assert state in exc.en and event in exc.en
    assert lc.ZH[state] in exc.zh and " / " in str(exc)


def test_unknown_states_and_events_are_refused_not_guessed():
    with pytest.raises(DomainError):
        transition("PAID", E.CONFIRM)
    with pytest.raises(DomainError):
        transition(S.PUSHED, "APPROVE")


@given(states, event_lists)
def test_random_event_sequences_stay_within_the_defined_states(start, evs):
    for state in walk(start, evs):
        assert state in set(LineState)


@given(st.sampled_from(sorted(lc.TERMINAL)), event_lists)
def test_terminal_states_stay_terminal(start, evs):
    assert walk(start, evs) == [start]


@given(events)
def test_a_superseded_line_accepts_no_event(ev):
    assert not lc.allows(S.SUPERSEDED, ev)
    with pytest.raises(DomainError):
        transition(S.SUPERSEDED, ev)


@given(event_lists)
def test_from_allocation_a_line_moves_forward_only_and_at_most_three_times(evs):
    path = walk(S.ALLOCATED, evs)
    assert len(path) == len(set(path)) <= 4    # no state is ever visited twice
    if len(path) > 1:
        assert path[-1] != S.ALLOCATED


@given(event_lists)
def test_a_receivable_line_got_there_by_confirm_or_deem_from_pushed(evs):
    path = walk(S.ALLOCATED, evs)
    if lc.is_receivable(path[-1]):
        assert path[:-1] == [S.ALLOCATED, S.PUSHED]


def test_the_table_the_services_ask():
    assert lc.TERMINAL == {S.CONFIRMED, S.DEEMED, S.SUPERSEDED, S.TOWER}
    assert [s for s in LineState if lc.may_confirm(s)] == [S.PUSHED]
    assert [s for s in LineState if lc.may_deem(s)] == [S.PUSHED]
    assert [s for s in LineState if lc.may_dispute(s)] == [S.PUSHED]
    assert [s for s in LineState if lc.may_answer(s)] == [S.DISPUTED]
    assert {s for s in LineState if lc.is_receivable(s)} == {S.CONFIRMED, S.DEEMED}
    assert lc.stored_statuses(lc.states_allowing(E.DEEM)) == ["PUSHED"]
    assert lc.stored_statuses(lc.RECEIVABLE) == ["CONFIRMED"]


@given(st.sampled_from([s for s in LineState if s in lc.STORED]))
def test_every_stored_state_reads_back_as_itself(state):
    assert lc.state_of(*lc.STORED[state]) == state


def test_stored_spelling():
    assert lc.state_of("CONFIRMED", True) == S.DEEMED
    assert lc.state_of("CONFIRMED") == S.CONFIRMED
    assert lc.state_of("PUSHED", False) == S.PUSHED
    for status in ("ALLOCATED", "DEEMED", "PAID", ""):   # not database spellings
        with pytest.raises(DomainError) as caught:
            lc.state_of(status)
        assert caught.value.code == ErrorCode.INVALID


def test_the_database_spells_every_stored_state_and_nothing_else():
    from towerledger.settlement.models import Line

    assert set(Line.Status.values) == {status for status, _ in lc.STORED.values()}
    assert set(Line.Kind.values) <= set(LineKind)


# ---- collection ------------------------------------------------------------------------------

def test_collection_states():
    d = Decimal
    assert collection_state(d("100.00"), d("0")) == CollectionState.UNPAID
    assert collection_state(d("100.00"), d("0.01")) == CollectionState.PARTLY_WRITTEN_OFF
    assert collection_state(d("100.00"), d("100.00")) == CollectionState.WRITTEN_OFF
    assert collection_state(d("0.00"), d("0.00")) == CollectionState.WRITTEN_OFF
    assert collection_state(d("-50.00"), d("-20.00")) == CollectionState.PARTLY_WRITTEN_OFF
    for receivable, off in (("100.00", "100.01"), ("100.00", "-0.01"), ("-50.00", "10.00"),
                            ("-50.00", "-50.01")):
        with pytest.raises(DomainError) as caught:
            collection_state(d(receivable), d(off))
        assert caught.value.code == ErrorCode.CONFLICT


@given(fen, st.lists(st.tuples(st.booleans(), fen), max_size=20))
def test_writing_off_by_what_is_left_never_exceeds_the_receivable(receivable, steps):
    """Receipts applied (at most what is left) and applications reversed, in any order:
    what is written off stays within [0, receivable] and its state follows it."""
    live = []
    for apply, amount in steps:
        if apply:
            left = lc.left_to_write_off(S.CONFIRMED, receivable, sum(live, Decimal(0)))
            if min(amount, left) > 0:
                live.append(min(amount, left))
        elif live:
            live.pop(int(amount) % len(live))     # 反核销 of one live application
        off = sum(live, Decimal(0))
        assert 0 <= off <= receivable
        state = collection_state(receivable, off)
        assert (state == CollectionState.WRITTEN_OFF) == (off == receivable)
        assert (state == CollectionState.UNPAID) == (off == 0 < receivable)


@given(st.sampled_from([s for s in LineState if not lc.is_receivable(s)]), fen)
def test_only_a_receivable_line_can_be_written_off(state, receivable):
    assert lc.left_to_write_off(state, receivable, Decimal(0)) == 0


# ---- kinds -----------------------------------------------------------------------------------

def test_the_kinds_of_section_7_and_which_count_toward_t0():
    assert [k.value for k in LineKind] == [
        "ALLOCATION", "LUMP_SUM", "ADJUSTMENT", "RECOVERY_CREDIT", "SAVINGS_SHARE", "RENT",
        "SITE_FEE_LUMP_SUM", "GENERATOR", "OPENING", "CREDIT"]   # CREDIT: refunds (issue 12)
    assert [k for k in LineKind if lc.counts_toward_t0(k)] == [LineKind.ALLOCATION]
    assert set(lc.KIND_ZH) == set(LineKind)
    with pytest.raises(ValueError):
        lc.counts_toward_t0("BONUS")
