"""How allocation splits its bills into batches (issue 18): every bill in exactly one batch, in
order, no batch above BATCH, sizes differing by one at most, and as many batches as a
multiple of the workers, so the parallel processes finish together."""

import pytest

from towerledger.settlement import allocate as alloc


@pytest.mark.parametrize("n, workers", [(1, 1), (7, 1), (6041, 1), (6041, 2), (10_000, 2),
                                        (10_001, 2), (389_887, 2), (12, 4), (9, 4), (3, 2),
                                        (1, 2)])
def test_batches_cover_every_bill_once_evenly(n, workers):
    ids = list(range(100, 100 + n))
    batches = alloc._batches(ids, workers)
    assert [i for b in batches for i in b] == ids
    sizes = [len(b) for b in batches]
    assert max(sizes) <= alloc.BATCH and min(sizes) >= 1
    assert max(sizes) - min(sizes) <= 1
    assert len(batches) >= -(-n // alloc.BATCH)
    if n >= workers:
        assert len(batches) % workers == 0      # every process gets as many


def test_6041_bills_on_two_workers_are_two_halves_not_5000_and_1041():
    assert [len(b) for b in alloc._batches(list(range(6041)), 2)] == [3021, 3020]
    assert [len(b) for b in alloc._batches(list(range(6041)), 1)] == [3021, 3020]
