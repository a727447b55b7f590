import numpy as np
import pytest

from inference.decoding import decode_all, decode_task, line_starts, one_type_per_name, trim_edges, valid_bio_paths
from inference.manifest import TaskSpec
from inference.tokenization import compatible

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def decode_entities(p, tags, viterbi=False):
    return decode_all([p], tags, viterbi)[0]


def valid_bio_path(p, tags):
    return valid_bio_paths([p], tags)[0]


def probs(rows):
    return np.array(rows, dtype=np.float64)


def test_spans_and_exact_span_probability():
    p = probs([[0.9, 0.05, 0.0, 0.05, 0.0],     # O
               [0.1, 0.8, 0.0, 0.1, 0.0],       # B-PER
               [0.2, 0.0, 0.7, 0.0, 0.1],       # I-PER
               [0.6, 0.0, 0.3, 0.1, 0.0]])      # O (but 0.3 that the name goes on)
    [(first, last, label, score)] = decode_entities(p, TAGS)
    assert (first, last, label) == (1, 3, "PER")
    assert score == pytest.approx(0.8 * 0.7 * (1 - 0.3))


def test_i_tag_after_o_opens_an_entity():
    p = probs([[0.9, 0.1, 0, 0, 0], [0.1, 0.3, 0.0, 0.0, 0.6]])
    [(first, last, label, score)] = decode_entities(p, TAGS)
    assert (first, last, label) == (1, 2, "LOC")
    assert score == pytest.approx(0.6)  # B-LOC 0 + I-LOC 0.6: either opens a place here


def test_adjacent_entities_of_the_same_type_stay_apart():
    p = probs([[0, 0.9, 0.1, 0, 0], [0, 0.8, 0.2, 0, 0]])
    assert [(f, l) for f, l, _, _ in decode_entities(p, TAGS)] == [(0, 1), (1, 2)]


def test_scores_are_probabilities_and_empty_input():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(len(TAGS)), size=200)
    assert all(0.0 <= s <= 1.0 for *_, s in decode_entities(p, TAGS))
    assert decode_entities(np.zeros((0, len(TAGS))), TAGS) == []


def test_viterbi_never_opens_with_i_and_keeps_valid_argmax():
    p = probs([[0.4, 0.05, 0.0, 0.05, 0.5],    # argmax I-LOC after nothing: invalid
               [0.9, 0.05, 0.0, 0.05, 0.0]])
    assert decode_entities(p, TAGS, viterbi=False)[0][:3] == (0, 1, "LOC")  # argmax repairs I- to an entity
    assert decode_entities(p, TAGS, viterbi=True) == []   # valid paths only: O (0.4) beats B-LOC (0.05)
    rng = np.random.default_rng(1)
    q = rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=50)
    path = [TAGS[i] for i in valid_bio_path(q, TAGS)]
    for prev, tag in zip(["O"] + path, path):
        if tag.startswith("I-"):
            assert prev in (f"B-{tag[2:]}", tag)


def test_viterbi_path_is_the_most_probable_valid_path():
    """Against brute force over every tag sequence of short texts, valid argmax or not."""
    import itertools


    def valid(path):
        return all(not t.startswith("I-") or p in (f"B-{t[2:]}", t) for p, t in zip(["O", *path], path))

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 4):
        for _ in range(20):
            q = rng.dirichlet(np.ones(len(TAGS)) * 0.5, size=n)
            best = max((p for p in itertools.product(range(len(TAGS)), repeat=n) if valid([TAGS[i] for i in p])),
                       key=lambda p: np.log(q[np.arange(n), p]).sum())
            assert list(valid_bio_path(q, TAGS)) == list(best)


def test_batched_viterbi_matches_one_text_at_a_time():
    """Texts of many lengths decoded together (groups smaller than the batch, empty texts too)
    get the path each gets alone, including single-word texts and already valid ones."""
    from inference.decoding import bio_transitions, _viterbi, valid_bio_paths

    allowed, opens = bio_transitions(tuple(TAGS))
    rng = np.random.default_rng(3)
    texts = [rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=n) for n in (5, 1, 0, 40, 2, 17, 1, 90, 3)]
    alone = [_viterbi([q], allowed, opens)[0] if len(q) else q.argmax(1) for q in texts]
    together = valid_bio_paths(texts, TAGS, group=4, max_words=100)
    assert [list(p) for p in together] == [list(p) for p in alone]
    assert sum(not np.array_equal(p, q.argmax(1)) for p, q in zip(together, texts)) >= 3  # the search did work


def test_a_surname_after_a_full_name_takes_the_full_names_type_and_is_rescored():
    words = ["Vladimir", "Putin", "met", "Putin"]
    p = probs([[0.0, 0.9, 0.1, 0.0, 0.0],       # B-PER
               [0.0, 0.0, 0.9, 0.0, 0.1],       # I-PER
               [1.0, 0.0, 0.0, 0.0, 0.0],       # O
               [0.0, 0.4, 0.0, 0.6, 0.0]])      # alone: B-LOC 0.6, B-PER 0.4
    spans = decode_all([p], TAGS)[0]
    assert [s[2] for s in spans] == ["PER", "LOC"]
    harmonised = one_type_per_name(spans, p, words, TAGS)
    assert [(f, l, label) for f, l, label, _ in harmonised] == [(0, 2, "PER"), (3, 4, "PER")]
    assert harmonised[0] == spans[0]                       # the mention that had the winning type is untouched
    assert harmonised[1][3] == pytest.approx(0.4)          # rescored as PER: the model's probability of that


def test_a_mention_relabelled_right_after_an_entity_of_its_new_type_opens_with_b_alone():
    """As decoding scores it: I- opens an entity only where none of its type ends just before it
    (before: "Jones" rescored as PER after "Smith" took P(I-PER) 0.3 too, 0.5 for 0.2)."""
    words = ["Smith", "Jones", "said", "Jones"]
    p = probs([[0.01, 0.99, 0.0, 0.0, 0.0],      # B-PER
               [0.0, 0.2, 0.3, 0.5, 0.0],        # alone: B-LOC 0.5, I-PER 0.3 (the name goes on), B-PER 0.2
               [1.0, 0.0, 0.0, 0.0, 0.0],        # O
               [0.0, 1.0, 0.0, 0.0, 0.0]])       # B-PER
    spans = decode_all([p], TAGS)[0]
    assert [s[2] for s in spans] == ["PER", "LOC", "PER"]
    harmonised = one_type_per_name(spans, p, words, TAGS)
    assert [(f, l, label) for f, l, label, _ in harmonised] == [(0, 1, "PER"), (1, 2, "PER"), (3, 4, "PER")]
    assert harmonised[1][3] == pytest.approx(0.2)          # B-PER alone: an I-PER would have joined "Smith"
    assert one_type_per_name(spans, p, words, TAGS, starts=frozenset({1}))[1][3] == pytest.approx(0.5)   # a new line


def test_a_mention_that_keeps_its_type_is_rescored_when_the_entity_before_it_changes_type():
    """Before: "Jones" kept the score decoding gave it beside a LOC (B-PER + I-PER, 0.8) once "Smith"
    before it became PER, and beside a PER (B-PER alone, 0.55) once that became LOC."""
    words = ["Smith", "Jones", "said", "Smith", "and", "Smith"]
    p = probs([[0.0, 0.3, 0.0, 0.7, 0.0],   # alone: B-LOC; its other mentions are PER
               [0.0, 0.2, 0.6, 0.0, 0.2],   # I-PER, which after a LOC opens a PER
               [1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0]])
    spans = decode_all([p], TAGS)[0]
    assert [s[2] for s in spans[:2]] == ["LOC", "PER"] and spans[1][3] == pytest.approx(0.8)
    harmonised = one_type_per_name(spans, p, words, TAGS)
    assert [s[2] for s in harmonised[:2]] == ["PER", "PER"] and harmonised[1][3] == pytest.approx(0.2)
    words = ["Leeds", "Jones", "said", "Leeds", "and", "Leeds"]
    p = probs([[0.0, 0.6, 0.0, 0.4, 0.0], [0.0, 0.55, 0.45, 0.0, 0.0],   # PER PER: "Jones" by B- alone
               [1, 0, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0], [0, 0, 0, 1, 0]])
    spans = decode_all([p], TAGS)[0]
    assert [s[2] for s in spans[:2]] == ["PER", "PER"] and spans[1][3] == pytest.approx(0.55)
    harmonised = one_type_per_name(spans, p, words, TAGS)
    assert [s[2] for s in harmonised[:2]] == ["LOC", "PER"] and harmonised[1][3] == pytest.approx(1.0)


def test_surnames_follow_the_full_names_even_when_they_outnumber_them():
    words = ["John", "Bolton", "said", "Bolton", "Bolton", "Bolton"]
    full_per, i_per = [0.0, 0.9, 0.0, 0.1, 0.0], [0.0, 0.0, 0.9, 0.0, 0.1]
    leans_loc = [0.0, 0.3, 0.0, 0.7, 0.0]
    p = probs([full_per, i_per, [1.0, 0, 0, 0, 0], leans_loc, leans_loc, leans_loc])
    spans = decode_all([p], TAGS)[0]
    assert [s[2] for s in spans] == ["PER", "LOC", "LOC", "LOC"]   # the surnames hold more LOC mass than PER
    assert [s[2] for s in one_type_per_name(spans, p, words, TAGS)] == ["PER"] * 4


PLACE_OR_TEAM = ["O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


def test_a_place_and_a_team_of_one_name_share_a_type_only_where_it_holds_most_of_the_mass():
    words = ["Leeds", "and", "Leeds", "and", "Leeds"]
    sure, barely_org = [0.0, 0.05, 0.0, 0.95, 0.0], [0.0, 0.55, 0.0, 0.45, 0.0]
    o = [1.0, 0.0, 0.0, 0.0, 0.0]
    p = probs([sure, o, sure, o, barely_org])               # LOC holds (0.95 + 0.95 + 0.45) / 3 of the mass
    harmonised = one_type_per_name(decode_all([p], PLACE_OR_TEAM)[0], p, words, PLACE_OR_TEAM)
    assert [label for _, _, label, _ in harmonised] == ["LOC", "LOC", "LOC"]
    p = probs([sure, o, barely_org, o, barely_org])         # LOC holds (0.95 + 0.45 + 0.45) / 3 < 0.75
    spans = decode_all([p], PLACE_OR_TEAM)[0]
    assert [label for _, _, label, _ in spans] == ["LOC", "ORG", "ORG"]
    assert one_type_per_name(spans, p, words, PLACE_OR_TEAM) == spans


def test_a_name_split_between_other_types_takes_the_type_with_the_most_mass():
    tags = ["O", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    words = ["TASS", "said", "TASS", "said", "TASS"]
    org, leans_per = [0.0, 0.6, 0.0, 0.4, 0.0], [0.0, 0.4, 0.0, 0.6, 0.0]
    o = [1.0, 0.0, 0.0, 0.0, 0.0]
    p = probs([org, o, org, o, leans_per])                  # ORG holds (0.6 + 0.6 + 0.4) / 3 < 0.75 of the mass
    spans = decode_all([p], tags)[0]
    assert [label for _, _, label, _ in spans] == ["ORG", "ORG", "PER"]
    harmonised = one_type_per_name(spans, p, words, tags)
    assert [label for _, _, label, _ in harmonised] == ["ORG", "ORG", "ORG"]
    assert harmonised[2][3] == pytest.approx(0.4)           # rescored as ORG


def test_a_one_word_place_does_not_join_a_longer_name_that_is_not_a_person():
    tags = ["O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    words = ["Global", "Affairs", "Canada", "said", "Canada"]
    p = probs([[0, 0.9, 0.1, 0, 0], [0, 0, 1.0, 0, 0], [0, 0, 0.9, 0, 0.1], [1.0, 0, 0, 0, 0], [0, 0.1, 0, 0.9, 0]])
    spans = decode_all([p], tags)[0]
    assert one_type_per_name(spans, p, words, tags) == spans


@pytest.mark.parametrize("symbol", ["[", "\u24b6"])   # "\u24b6": no letter to isalnum, so predict never trims one to nothing
def test_a_span_without_a_letter_or_digit_is_no_entity(symbol):
    # "[" tagged as a person of its own before "Putin]" (a SentencePiece model did this)
    words = ["our", "President", symbol, "Putin", "]", "said"]
    p = probs([[1.0, 0.0, 0.0, 0.0, 0.0],
               [1.0, 0.0, 0.0, 0.0, 0.0],
               [0.2, 0.8, 0.0, 0.0, 0.0],       # B-PER
               [0.1, 0.9, 0.0, 0.0, 0.0],       # B-PER
               [1.0, 0.0, 0.0, 0.0, 0.0],
               [1.0, 0.0, 0.0, 0.0, 0.0]])
    task = TaskSpec(name="entities", kind="ner", labels=TAGS)
    assert [s[:3] for s in decode_all([p], TAGS)[0]] == [(2, 3, "PER"), (3, 4, "PER")]
    assert [s[:3] for s in decode_task(task, [p], [words])[0]] == [(3, 4, "PER")]
    assert [s[:3] for s in decode_task(task, [p])[0]] == [(2, 3, "PER"), (3, 4, "PER")]   # no words, no test


def test_dashes_at_the_ends_of_a_span_are_trimmed():
    # "Stockholm-based": the dash tagged as part of the place; "Al-Qaeda" keeps its inner dash
    words = ["the", "Stockholm", "-", "based", "Al", "-", "Qaeda", "\u2013"]
    p = probs([[1.0, 0.0, 0.0, 0.0, 0.0],
               [0.1, 0.0, 0.0, 0.9, 0.0],       # B-LOC
               [0.4, 0.0, 0.0, 0.0, 0.6],       # I-LOC
               [1.0, 0.0, 0.0, 0.0, 0.0],
               [0.1, 0.9, 0.0, 0.0, 0.0],       # B-PER
               [0.1, 0.0, 0.9, 0.0, 0.0],       # I-PER
               [0.1, 0.0, 0.9, 0.0, 0.0],       # I-PER
               [0.1, 0.0, 0.9, 0.0, 0.0]])      # I-PER: an en dash after the name
    task = TaskSpec(name="entities", kind="ner", labels=TAGS)
    decoded = decode_all([p], TAGS)[0]
    assert [s[:3] for s in decoded] == [(1, 3, "LOC"), (4, 8, "PER")]
    trimmed = decode_task(task, [p], [words])[0]
    assert [s[:3] for s in trimmed] == [(1, 2, "LOC"), (4, 7, "PER")]
    assert [s[3] for s in trimmed] == [s[3] for s in decoded]   # the rule moved the boundary, not the model


def test_a_full_width_ascii_symbol_at_an_entitys_edge_stays_as_the_ascii_one_does():
    """The encoder reads "\uff0b" as "+" (tokenization.compatible): before, "OPEC\uff0b" lost it as a
    symbol kept in a word, which the span calibrator (name_key) still looked up as "OPEC+"."""
    from inference.calibration import name_key
    for text in ("OPEC+", "OPEC\uff0b", "\uff04Apple", "$Apple"):
        assert trim_edges(text, 0, len(text)) == (0, len(text))
        assert name_key(text) == compatible(text)
    assert trim_edges("Windows\u2122\u3000", 0, 9) == (0, 7)   # a symbol that is not ASCII in any form: cut


@pytest.mark.parametrize("text", ["\u00a320 million", "\u20ac5bn", "20 million \u00a3", "\u00a5 300"])
def test_a_currency_sign_at_an_amounts_edge_stays_as_the_dollar_does(text):
    """A probe's case: re3d's Money "\u00a3 20 million" was shown, scored and calibrated as "20 million",
    while "$20 million" kept its sign."""
    assert trim_edges(text, 0, len(text)) == (0, len(text))


@pytest.mark.parametrize("text", ["\u24b6 Berlin \u24b6", "\u2605\tBerlin\r\n\u2605", "\u00a9 \x00Berlin\u00a0\u2122"])
def test_white_space_behind_a_cut_symbol_is_cut_too(text):
    """A symbol that is a word of its own at an entity's edge ("\u24b6") is cut;
    before, the ASCII space or control between it and the name stayed: "Berlin " as the entity."""
    start, end = trim_edges(text, 0, len(text))
    assert text[start:end] == "Berlin"


@pytest.mark.parametrize("viterbi", [False, True])
def test_no_entity_spans_a_line_break(viterbi):
    """A paragraph that ends with a name and the next that opens with one (BBC News: "Bush\n\nCherie
    Blair" as one person): before, one entity across the break."""
    text = "met Bush\n\nCherie Blair said\r\nBlair"
    words = [(0, 3), (4, 8), (10, 16), (17, 22), (23, 27), (29, 34)]
    assert line_starts(text, words) == {2, 5} and line_starts("a b", [(0, 1), (2, 3)]) == set()
    p = probs([[1.0, 0.0, 0.0, 0.0, 0.0],
               [0.1, 0.9, 0.0, 0.0, 0.0],       # B-PER
               [0.05, 0.15, 0.8, 0.0, 0.0],     # I-PER, across the break
               [0.1, 0.0, 0.9, 0.0, 0.0],       # I-PER
               [1.0, 0.0, 0.0, 0.0, 0.0],
               [0.0, 0.1, 0.9, 0.0, 0.0]])      # I-PER, opening the last line
    task = TaskSpec(name="entities", kind="ner", labels=TAGS, viterbi=viterbi, one_type_per_name=False)
    surfaces = [[text[a:b] for a, b in words]]
    assert [s[:3] for s in decode_task(task, [p], surfaces)[0]] == [(1, 4, "PER"), (5, 6, "PER")]   # no lines given
    spans = decode_task(task, [p], surfaces, lines=[line_starts(text, words)])[0]
    assert [s[:3] for s in spans] == [(1, 2, "PER"), (2, 4, "PER"), (5, 6, "PER")]
    # each line decoded as a text of its own: "Bush" ends as a text's last word does, "Cherie" opens with I- or B-
    assert [s[3] for s in spans] == pytest.approx([0.9, (0.15 + 0.8) * 0.9, 0.1 + 0.9])


@pytest.mark.parametrize("text, words, starts", [
    ("a\r\n\r\nb\rc\n\rd", [(0, 1), (5, 6), (7, 8), (10, 11)], {1, 2, 3}),    # CRLF, lone CR, LF CR: one start each
    ("a\u2028b\x85c\fd\ve\x1cf\u2029g \tx", [(i, i + 1) for i in range(0, 13, 2)] + [(15, 16)], set(range(1, 7))),
    ("\n\na b\n\n", [(2, 3), (4, 5)], set()),          # breaks before the first word and after the last
    ("a\nb c", [(0, 3), (4, 5)], set()),                 # a break inside a word separates nothing
    ("a\u200b\nb", [(0, 1), (3, 4)], {1}),
    ("", [], set()), ("\n", [], set()), ("a\n", [(0, 1)], set()),
])
def test_line_starts_on_every_kind_of_line_end(text, words, starts):
    """Every line end str.splitlines knows, found in one pass over the text."""
    assert line_starts(text, words) == starts
    gaps = [text[words[w - 1][1]:words[w][0]] for w in range(1, len(words))]
    assert starts == {w for w, gap in enumerate(gaps, 1) if "".join(gap.splitlines()) != gap}   # a break in the gap


def test_the_words_past_the_text_start_a_line():
    """Of a pair ("a b [SEP] c d"), the separator: the first text's names end with it."""
    assert line_starts("a b", [(0, 1), (2, 3), (4, 9), (10, 11), (12, 13)]) == {2}
