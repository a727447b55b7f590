import dataclasses

import pytest

from inference.tokenization import encode
from inference.windows import IGNORE, SpecialTokens, batch_inputs, batch_token_targets, cut_windows, plan_windows


@pytest.mark.parametrize("n,length,overlap", [(1, 8, 2), (10, 4, 2), (100, 30, 8), (31, 30, 8), (1000, 254, 64),
                                              (255, 254, 64), (445, 254, 64), (1013, 254, 64), (97, 10, 9)])
def test_windows_cover_every_token_and_owner_is_most_central(n, length, overlap):
    spans, owner = plan_windows(n, length, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(e - s <= length for s, e in spans)
    assert all(e1 - s2 >= overlap for (_, e1), (s2, _) in zip(spans, spans[1:]))  # neighbours share >= overlap
    assert len({e - s for s, e in spans}) == 1                                       # one length for all
    assert len(spans) == 1 or (len(spans) - 2) * (length - overlap) + length < n  # one window fewer would not do
    for i, w in enumerate(owner):
        s, e = spans[w]
        assert s <= i < e
        centrality = min(i - s, e - 1 - i)
        for s2, e2 in spans:
            if s2 <= i < e2:
                assert min(i - s2, e2 - 1 - i) <= centrality


def test_windows_reject_overlap_as_long_as_window():
    with pytest.raises(ValueError, match="overlap"):
        plan_windows(10, 8, 8)


def test_batches_pad_windows_and_keep_targets_of_owned_subwords_only(tokenizer):
    texts = [encode(tokenizer, " ".join(["Officials met in Geneva."] * 12)), encode(tokenizer, "Short one.")]
    windows = cut_windows(texts, window_length=24, overlap=6)
    assert [w.text for w in windows].count(1) == 1 and len(windows) > 3
    special = SpecialTokens.of(tokenizer)
    inputs = batch_inputs(windows, texts, special)
    widest = max(w.width for w in windows)
    assert inputs["input_ids"].shape == (len(windows), widest)
    for row, w in enumerate(windows):
        ids = inputs["input_ids"][row]
        assert ids[0] == special.cls and ids[w.width - 1] == special.sep and (ids[w.width:] == special.pad).all()
        assert inputs["pool_mask"][row].sum() == sum(w.owned)
    targets = [list(range(len(t.input_ids))) for t in texts]
    batch = batch_token_targets(windows, [targets[0], None])
    labelled = [int(v) for row in batch for v in row if v != IGNORE]
    assert sorted(labelled) == targets[0]        # each subword of text 0 learnt once, text 1 not at all
    assert (batch[[w.text for w in windows].index(1)] == IGNORE).all()


def test_every_window_of_a_pair_starts_with_the_first_text(any_tokenizer):
    headline, body = "Rates rise in Geneva", " ".join(["The bank said it would raise rates again."] * 12)
    enc = encode(any_tokenizer, headline, body)
    lead = enc.input_ids[:enc.prefix]
    assert any_tokenizer.sep_token_id == lead[-1] and enc.prefix < 12
    windows = cut_windows([enc], window_length=40, overlap=8)
    assert len(windows) > 2 and all(w.width <= 40 for w in windows)
    inputs = batch_inputs(windows, [enc], SpecialTokens.of(any_tokenizer))
    for row, w in enumerate(windows):
        assert inputs["input_ids"][row, 1:1 + enc.prefix].tolist() == lead    # [CLS] headline [SEP] body part
    owned = sorted(int(i) for w in windows for i in w.positions[[k for k, o in enumerate(w.owned) if o]])
    assert owned == list(range(len(enc.input_ids)))                            # each subword owned once
    assert cut_windows([enc], window_length=enc.prefix + 10, overlap=8)[0].prefix == 0   # no room: cut as one text
    alone = encode(any_tokenizer, headline)   # as a pair whose second text the tokenizer drops whole would be
    blank = dataclasses.replace(alone, prefix=len(alone.input_ids))
    assert [(w.start, w.end, w.prefix) for w in cut_windows([blank], 40, 8)] == [(0, blank.prefix, 0)]   # one window


def test_windows_of_a_pair_whose_first_text_leaves_little_room_share_half_of_it(any_tokenizer):
    """Before: a first text leaving the second overlap + 2 subwords of room took a window every 2
    subwords of a long second text (848 windows where 10 read the pair as one text at 256/64)."""
    headline, body = " ".join(["Rates rise in Geneva"] * 3), " ".join(["The bank said it would raise rates."] * 80)
    enc = encode(any_tokenizer, headline, body)
    second = len(enc.input_ids) - enc.prefix
    for room, shared in ((10, 5), (15, 7), (16, 8), (30, 8)):   # overlap 8: half the room where that is less
        windows = cut_windows([enc], window_length=enc.prefix + 2 + room, overlap=8)
        assert {w.prefix for w in windows} == {enc.prefix}                    # every window reads the first text
        assert len(windows) == -(-(second - shared) // (room - shared))        # the fewest that share `shared`
        assert min(a.end - b.start for a, b in zip(windows, windows[1:])) >= shared
