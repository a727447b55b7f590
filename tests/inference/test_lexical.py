import unicodedata
from collections import Counter

import numpy as np
import pytest

from inference.lexical import Lexicon, fit_vocabulary, terms

TEXTS = ["Oil prices rose as OPEC cut output.", "Wheat and corn exports fell; oil steady.",
         "The central bank raised rates again, rates rising.", "Oil, oil and more oil in the Gulf."]


def test_features_are_scikit_learns_sublinear_tfidf():
    sklearn = pytest.importorskip("sklearn.feature_extraction.text")
    vocabulary, idf = fit_vocabulary(TEXTS, max_terms=1000)
    reference = sklearn.TfidfVectorizer(sublinear_tf=True, vocabulary=vocabulary).fit(TEXTS)
    np.testing.assert_allclose(idf, reference.idf_, rtol=1e-6)
    ours = Lexicon(vocabulary, idf).features(TEXTS + ["unseen words only"]).numpy()
    theirs = reference.transform(TEXTS + ["unseen words only"]).toarray()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_vocabulary_keeps_the_most_frequent_terms():
    vocabulary, _ = fit_vocabulary(TEXTS, max_terms=2)
    assert vocabulary == ["and", "oil"]     # in 3 and 2 texts: "oil" 3, then the ties broken by term


def test_pair_features_hold_both_texts_and_their_cosine():
    lexicon = Lexicon(*fit_vocabulary(TEXTS, 1000))
    pair = lexicon.features(TEXTS[:2], pairs=[TEXTS[3], TEXTS[0]])
    size = len(lexicon)
    first, second = lexicon.features(TEXTS[:2]), lexicon.features([TEXTS[3], TEXTS[0]])
    assert pair.shape == (2, 2 * size + 1)
    np.testing.assert_allclose(pair[:, :size], first)
    np.testing.assert_allclose(pair[:, size:2 * size], second)
    np.testing.assert_allclose(pair[:, -1], (first * second).sum(1), rtol=1e-6)
    assert pair[0, -1] > pair[1, -1] > 0          # oil against oil beats wheat against oil


def test_a_word_reads_as_the_encoder_reads_it():
    """Text in NFD, a soft hyphen and full-width letters made other terms ("socie", "te"; "pu",
    "tin"; "ｎａｔｏ") than the same words as the vocabulary holds them: the words the encoder
    read were lost to the lexical branch."""
    lexicon = Lexicon(*fit_vocabulary(["Société Générale and Putin meet NATO", "Oil prices rose"], 1000))
    written = lexicon.features(["Société Générale and Putin meet NATO"])
    for text in [unicodedata.normalize("NFD", "Société Générale and Putin meet NATO"),
                 "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale and Pu\u00adtin meet \uff2e\uff21\uff34\uff2f"]:
        np.testing.assert_allclose(lexicon.features([text]), written)


def test_a_half_width_sound_mark_joins_its_syllable():
    """Half-width katakana write a voiced syllable as two forms ("\uff8a\uff9f", "pa"), the second a
    combining mark once in its compatibility form; composed before that, "\uff8a\uff9f\uff98" (Paris)
    made no term and "\uff83\uff9e\uff7c\uff9e\uff80\uff99" only "\u30bf\u30eb", where `surface` reads both words."""
    assert terms("\uff8a\uff9f\uff98 \uff83\uff9e\uff7c\uff9e\uff80\uff99") == terms("\u30d1\u30ea \u30c7\u30b8\u30bf\u30eb") \
        == Counter({"\u30d1\u30ea": 1, "\u30c7\u30b8\u30bf\u30eb": 1})


def test_a_dotted_capital_i_reads_as_i():
    """Before: "İzmir" lower-cased to "i" and a combining dot, which is no word character: the terms
    were "zmir" and "stanbul", and "İstanbul" never met the "istanbul" of "Istanbul" or "ISTANBUL"."""
    assert terms("İstanbul İZMİR Istanbul I\u0307zmir") == Counter({"istanbul": 2, "izmir": 2})
