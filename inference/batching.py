"""Group items sorted by size into runs that cost about the same once padded."""
from __future__ import annotations


def padded_runs(sizes: list[int], max_count: int, max_padded: int):
    """Consecutive runs of indices into `sizes` (sorted ascending), each at most `max_count`
    items and `max_padded` once every item is padded to the run's largest; never empty, and an
    item larger than `max_padded` runs alone."""
    run = []
    for i, size in enumerate(sizes):
        if run and (len(run) == max_count or (len(run) + 1) * size > max_padded):
            yield run
            run = []
        run.append(i)
    if run:
        yield run
