from inference.batching import padded_runs


def test_runs_keep_to_both_limits_and_the_order():
    sizes = [5, 5, 7, 10, 10, 22, 42, 42]  # sorted, as callers send them
    runs = list(padded_runs(sizes, max_count=3, max_padded=30))
    assert [i for run in runs for i in run] == list(range(len(sizes))) and all(runs)
    for run in runs:
        assert len(run) <= 3 and (len(run) * max(sizes[i] for i in run) <= 30 or len(run) == 1)
    assert [len(run) for run in runs] == [3, 2, 1, 1, 1]  # an item over the budget still runs, alone
    assert list(padded_runs([], 3, 30)) == []
