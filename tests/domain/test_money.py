"""Largest-remainder splits are exact to the fen, whatever the weights."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain.money import fen, largest_remainder, round_half_up


def test_half_up_rounds_away_from_zero_at_the_half():
    assert fen(Decimal("2.345")) == Decimal("2.35")
    assert fen(Decimal("-2.345")) == Decimal("-2.35")
    assert round_half_up(Fraction(1, 3), 4) == Decimal("0.3333")


def test_split_follows_the_worked_example_and_ties_go_to_the_first_key():
    parts = largest_remainder(Decimal("4752.00"), [("CMCC", Fraction(40)), ("CUCC", Fraction(25)),
                                                   ("CTCC", Fraction(15))])
    assert parts == {"CMCC": Decimal("2376.00"), "CUCC": Decimal("1485.00"),
                     "CTCC": Decimal("891.00")}
    thirds = largest_remainder(Decimal("1.00"), [(1, Fraction(1)), (2, Fraction(1)),
                                                 ("tower", Fraction(1))])
    assert thirds == {1: Decimal("0.34"), 2: Decimal("0.33"), "tower": Decimal("0.33")}


def test_zero_weights_leave_the_whole_to_the_last_key_and_bad_input_is_refused():
    assert largest_remainder(Decimal("5.00"), [(1, 0), ("tower", 0)]) == {
        1: Decimal("0.00"), "tower": Decimal("5.00")}
    with pytest.raises(ValueError):
        largest_remainder(Decimal("1.005"), [(1, 1)])
    with pytest.raises(ValueError):
        largest_remainder(Decimal("1.00"), [(1, -1), (2, 2)])


amounts = st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n).scaleb(-2))
weights = st.lists(st.fractions(min_value=0, max_value=1000), min_size=1, max_size=12)


@given(amounts, weights)
def test_parts_sum_exactly_and_are_never_negative(total, ws):
    parts = largest_remainder(total, list(enumerate(ws)))
    assert sum(parts.values()) == total
    assert all(p >= 0 for p in parts.values())
    assert all(p == p.quantize(Decimal("0.01")) for p in parts.values())


@given(amounts, weights)
def test_each_part_is_within_a_fen_of_its_exact_share(total, ws):
    whole = sum(ws)
    parts = largest_remainder(total, list(enumerate(ws)))
    for i, w in enumerate(ws):
        exact = Fraction(total) * w / whole if whole else None
        if exact is not None:
            assert abs(Fraction(parts[i]) - exact) < Fraction(1, 100)


@given(st.fractions(), st.integers(min_value=0, max_value=8))
def test_round_half_up_of_a_fraction_is_exact_half_away_from_zero(x, places):
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 200   # wide enough to be exact for these fractions
        exact = Decimal(x.numerator) / Decimal(x.denominator)
        want = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    got = round_half_up(x, places)
    assert got == want and got.as_tuple().exponent == -places
