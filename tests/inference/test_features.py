import pytest

from inference.features import SHAPES, encode, plan_windows, word_shape


@pytest.mark.parametrize("word,shape", [
    ("geneva", "lower"), ("Geneva", "title"), ("GENEVA", "upper"), ("McDonald", "mixed"),
    ("I", "title"), ("1987", "digit"), ("-", "punct"), ("東京", "other"), ("Sørensen", "title"),
])
def test_word_shape(word, shape):
    assert word_shape(word) == shape


TRICKY = "Café  Sørensen\tmet\r\nYUKI 東京 😀 in\u200bGeneva  \u00a0 Zürich, U.S.-led."


def test_words_index_the_original_text_exactly(tokenizer):
    enc = encode(tokenizer, TRICKY)
    words = [TRICKY[s:e] for s, e in enc.words]
    for w in ("Café", "Sørensen", "met", "YUKI", "😀", "Zürich", "led"):
        assert w in words
    assert all(w.strip() == w and w for w in words)
    assert len(enc.input_ids) == len(enc.token_words) == len(enc.shape_ids)


def test_shapes_are_read_from_the_cased_text(tokenizer):
    text = "Yesterday GENEVA hosted talks. Officials met in U.S. cities"
    enc = encode(tokenizer, text)
    shape_of = {text[s:e]: enc.shape_ids[i] for (s, e), i in zip(enc.words, enc.first_subwords)}
    n = len(SHAPES)
    assert shape_of["Yesterday"] == n + SHAPES.index("title")       # sentence-initial
    assert shape_of["GENEVA"] == SHAPES.index("upper")
    assert shape_of["Officials"] == n + SHAPES.index("title")       # after a full stop
    assert shape_of["cities"] == SHAPES.index("lower")              # "U.S." is not a sentence end


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
