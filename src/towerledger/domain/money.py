"""Money and rounding (金额与舍入): yuan with two decimals (fen), Decimal only.

``largest_remainder`` splits an amount so the parts sum exactly to it: each part gets the
floor of its exact share in fen, and the fen left over go one each to the largest
remainders; ties go to the key that comes first in the caller's order (ascending tenancy
id, tower-borne last, in allocation).
"""

from collections.abc import Hashable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import lcm

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def round_half_up(x, places: int = 2) -> Decimal:
    """Round half away from zero (四舍五入) to ``places`` decimals."""
    if isinstance(x, Fraction):
        # exactly, in integers: no detour through a 28-digit Decimal division
        n, d = x.numerator, x.denominator
        q, r = divmod(abs(n) * 10 ** places, d)
        if 2 * r >= d:
            q += 1
        return Decimal(f"{'-' if n < 0 else ''}{q}E-{places}")  # exact at any size
    return Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fen(x) -> Decimal:
    return round_half_up(x, 2)


def largest_remainder(total: Decimal, weights: Sequence[tuple[Hashable, Fraction]],
                      places: int = 2) -> dict:
    """Split ``total`` over ``weights`` (key, non-negative exact weight) in proportion.

    The parts sum exactly to ``total``, in units of 10^-places; no part is negative when
    ``total`` is not. A key whose weight is zero gets zero. When every weight is zero the
    whole goes to the last key (the caller puts the tower-borne remainder last).
    """
    if not weights:
        raise ValueError("nothing to split over")
    unit = Decimal(1).scaleb(-places)
    units = int((Decimal(total) / unit).to_integral_value())
    if Decimal(units) * unit != Decimal(total):
        raise ValueError(f"{total} is not a whole number of {unit}")
    weights = [(k, w if type(w) is Fraction else as_fraction(w)) for k, w in weights]
    if any(w.numerator < 0 for _, w in weights):   # a Fraction's denominator is positive
        raise ValueError("weights must not be negative")
    if len(weights) == 1:   # the whole to the one key (what _split_units gives it)
        return {weights[0][0]: Decimal(units) * unit}
    return _split_units(units, weights, unit)


def _split_units(units: int, weights, unit: Decimal) -> dict:
    """Each part's exact share ``|units| × w / Σw`` as integer quotient and remainder, all
    over one denominator: with ``L`` the weights' common denominator and ``a = w × L``
    (integers), the share is ``|units| × a / Σa``, so the remainders are ranked as plain
    integers (no Fraction at all: this runs for every site of every bill)."""
    sign = -1 if units < 0 else 1
    u = abs(units)
    common = lcm(*(w.denominator for _, w in weights))
    scaled = [w.numerator * (common // w.denominator) for _, w in weights]
    whole = sum(scaled)
    if whole == 0:
        return {k: (Decimal(units) * unit if i == len(weights) - 1 else ZERO)
                for i, (k, _) in enumerate(weights)}
    floors, remainders = {}, []
    for i, ((k, _), a) in enumerate(zip(weights, scaled, strict=True)):
        q, r = divmod(u * a, whole)
        floors[k] = q
        remainders.append((-r, i, k))
    left = u - sum(floors.values())
    for *_, k in sorted(remainders)[:left]:
        floors[k] += 1
    return {k: Decimal(sign * n) * unit for k, n in floors.items()}


def as_fraction(x) -> Fraction:
    """An exact Fraction from a Decimal, int or Fraction (never from a float)."""
    if isinstance(x, float):
        raise TypeError("money never goes through float")
    return Fraction(x)
