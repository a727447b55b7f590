"""Turn raw text into subword ids with exact character offsets, word boundaries and word shapes.

Everything is computed on the original string, so offsets index it exactly whatever
it contains (accents, emoji, CJK, CRLF, zero-width characters).
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from .recasing import recase_capital_lines

# The encoder's vocabulary is uncased, so capitalisation never reaches it; the NER head
# gets it back from a small embedding of each word's shape, read from the original text.
SHAPES = ("pad", "lower", "title", "upper", "mixed", "digit", "punct", "other")
SENTENCE_END = frozenset(".!?")
NUM_SHAPE_IDS = 2 * len(SHAPES)  # each shape, not sentence-initial / sentence-initial


@lru_cache(maxsize=1 << 16)  # news repeats its words: most shapes are looked up, not computed
def word_shape(word: str) -> str:
    letters = [c for c in word if c.isupper() or c.islower()]  # cased letters only (not CJK)
    if letters:
        if all(c.islower() for c in letters):
            return "lower"
        if all(c.isupper() for c in letters):
            return "upper" if len(letters) > 1 else "title"
        if letters[0].isupper() and all(c.islower() for c in letters[1:]):
            return "title"
        return "mixed"
    if any(c.isdigit() for c in word):
        return "digit"
    if word and not any(c.isalnum() for c in word):
        return "punct"
    return "other"


@dataclass(frozen=True)
class EncodedText:
    """One text, tokenized whole (no truncation)."""

    input_ids: list[int]          # subword ids, no special tokens
    token_words: list[int]        # index of the word each subword belongs to
    words: list[tuple[int, int]]  # character span of each word in the original text
    shape_ids: list[int]          # shape id of each subword (its word's shape)
    first_subwords: list[int]     # per word, its first subword with a visible character: the one whose
                                  # label is the word's (not a lone SentencePiece "▁" before it)
    prefix: int = 0               # of a text pair: the subwords of the first text and the separator, which
                                  # every window repeats before its part of the second


def join_pair(tokenizer, text: str, pair: str | None) -> str:
    """A text pair (headline + body) as one string with the separator token between the two;
    offsets inside `text` stay valid."""
    return text if pair is None else f"{text} {tokenizer.sep_token} {pair}"


# A zero-width space, control characters (C0 and C1) and lone surrogates become spaces before
# tokenizing (those that end a line, U+0085, \v, \f and \x1c-\x1e, become "\n": a space to the
# tokenizers, a line end to recasing): one character for one, so offsets still index the original
# text, while words split where a reader sees a break and the tokenizer never meets a string it
# cannot encode. So do emoji (pictographs, flags, clocks, arrows, shapes and dingbats such as
# \u2764 and \u2708, with the variation selectors, keycap and tags that build them):
# WordPiece splits no word at them and read "Putin\U0001f600" or "Paris\U0001f1eb\U0001f1f7" as one
# unknown token, losing the name. Symbols the vocabularies know ("\u00b0", "\u00a9", "\u2122") stay.
_EMOJI_CHARS = ("\u2190-\u21ff\u2300-\u23ff\u24c2\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299"
                "\ufe00-\ufe0f\u20e3\U0001F000-\U0001FAFF\U000E0020-\U000E007F")   # arrows, clocks, shapes, pictographs
# The Hangul fillers are letters by category but print as blanks ("\u3164" was read as a name);
# the jamo fillers U+115F and U+1160 build decomposed syllables, and stay.
BLANK_CHARS = "\u200b\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u3164\uffa0" + _EMOJI_CHARS   # a regex class's body
_INVISIBLE_CHARS = BLANK_CHARS + "\ud800-\udfff"   # lone surrogates too, which no tokenizer can take
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# Joiners, the soft hyphen and every other format character (Unicode category Cf: bidirectional
# marks and isolates, invisible operators, number signs that prefix digits), but the zero-width
# space and the emoji tags above, sit inside words without breaking them ("Pu\u00adtin" is "Putin"):
# the tokenizer reads the text without them (the tokenizers disagree on them: WordPiece drops
# most, SentencePiece made spaces or unknown pieces of them), and its offsets are mapped back around them.
# So do the combining grapheme joiner and the replacement character, which stands for a character
# lost in decoding ("Mu\ufffdoz"): WordPiece drops both, SentencePiece split the word or read "<unk>".
JOINERS = ("\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200c-\u200f\u202a-\u202e"
           "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
           "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\ufffd")   # a regex class's body (Cf as of Unicode 15, with U+034F and U+FFFD)
_JOINERS = re.compile(f"[{JOINERS}]")
_SPACES = re.compile(f"[\\s{_INVISIBLE_CHARS}]+")   # white space, and what the encoder reads as a space
LINE_BREAK = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")   # what str.splitlines() splits at
_READABLE = re.compile(f"[^\\s{_INVISIBLE_CHARS}{JOINERS}]")   # a character the encoder reads: not blank


def _recased(visible: str, first_length: int, pair_start: int | None) -> str:
    """`visible` with its lines in capitals recased; of a pair, the first text and the second are
    lines of one document apart from the separator between them, which stays as it is ("[SEP]",
    "</s>")."""
    if pair_start is None:
        return recase_capital_lines(visible)
    gap = pair_start - first_length
    apart = recase_capital_lines(visible[:first_length] + "\n" + " " * (gap - 2) + "\n" + visible[pair_start:])
    return apart[:first_length] + visible[first_length:pair_start] + apart[pair_start:]


def encode(tokenizer, text: str, pair: str | None = None, recase: bool = False) -> EncodedText:
    """Subwords of `text` (joined to `pair`, the second text of a pair, if any) and the words
    they make up. A word is what the tokenizer calls one
    (WordPiece: split at spaces, punctuation and CJK characters; SentencePiece: at spaces only),
    further split where a subword starts or ends with punctuation or a CJK character, as WordPiece
    does, so that "Moscow," is two words for either tokenizer and an entity never takes the comma
    along. The tokenizer reads each character in its compatibility form (`compatible`) and, with
    `recase`, lines in capitals recased (`inference.recasing`); offsets and shapes still come from
    the original text."""
    first_length = len(text)
    if pair is not None and not readable(pair):
        pair = None   # a second text with nothing to read: the first read alone
    text = join_pair(tokenizer, text, pair)
    visible = _INVISIBLE.sub(lambda m: "\n" if LINE_BREAK.match(m.group()) else " ", text)
    read, at = _without_joiners(visible)
    read = compatible(read)
    if recase:
        read = _recased(read, _read_index(at, first_length),
                        _read_index(at, len(text) - len(pair)) if pair is not None else None)
    separator = None if pair is None else _read_index(at, first_length + 1)   # after the text and a space (join_pair)
    ids, offsets, word_ids = _tokenized(tokenizer, read, separator)
    if at is not None:
        offsets = [(at[s], at[e - 1] + 1) if e > s else (at[s], at[s]) for s, e in offsets]
    token_words, words, firsts = [], [], []
    waiting = 0          # subwords with no visible character (a lone SentencePiece "▁"): join the next word
    last = None
    for i, ((start, end), wid) in enumerate(zip(offsets, word_ids)):
        if i == 0 and len(offsets) > 1 and offsets[1][0] <= start < offsets[1][1] \
                and tokenizer.convert_ids_to_tokens(ids[0]) == "\u2581":
            # SentencePiece's lone "▁" opening a text ("▁", "東京") is given the first character,
            # which the next subword spans too; further on, the space it stands for
            waiting += 1
            continue
        while start < end and _blank(visible, start):   # SentencePiece's "▁" covers the space before a word
            start += 1
        while end > start and _blank(visible, end - 1):
            end -= 1
        if start == end:
            waiting += 1
            continue
        if words and start < words[-1][1]:   # pieces of a character the last word has begun (".…", "ﷺ")
            words[-1][1] = max(words[-1][1], end)
        elif not words or wid != last or _breaks_word(text[start]) or _breaks_word(text[words[-1][1] - 1]):
            words.append([start, end])
            firsts.append(len(token_words) + waiting)
            last = wid
        else:
            words[-1][1] = end
        token_words.extend([len(words) - 1] * (waiting + 1))
        waiting = 0
    if waiting and words:
        token_words.extend([len(words) - 1] * waiting)
    elif waiting:        # nothing but white space: no words, so no subwords either
        ids = []
    for w, following in zip(words, [s for s, _ in words[1:]] + [len(text)]):
        # a character the tokenizer normalised away (a combining accent) stays in its word; a
        # joiner only between two of its characters
        while w[1] < following and not _blank(visible, w[1]):
            w[1] += 1
    words = [tuple(w) for w in words]
    word_shape_ids = []
    for i, (start, end) in enumerate(words):
        initial = i == 0 or _starts_sentence(text, words, i)
        word_shape_ids.append(SHAPES.index(word_shape(text[start:end])) + (len(SHAPES) if initial else 0))
    shape_ids = [word_shape_ids[w] for w in token_words]
    # the separator starts after the first text and a space: it and everything before it lead each window
    prefix = 0 if pair is None else sum(1 for w in token_words if words[w][0] <= first_length + 1)
    return EncodedText(list(ids), token_words, words, shape_ids, firsts, prefix)


def _read_index(at: list[int] | None, i: int) -> int:
    """The index in the text read (joiners taken out) of index `i` of the text."""
    return i if at is None else bisect_left(at, i)


def _tokenized(tokenizer, read: str, separator: int | None) -> tuple[list[int], list[tuple[int, int]], list[int]]:
    """Subword ids, offsets and word indices of `read`, where the text's own "[SEP]", "<s>" or
    "[CLS]" are words like any other (split_special_tokens), and the pair's separator, starting at
    `separator`, is the one special token: each side is tokenized apart, as the tokenizer splits a
    string at its special tokens."""
    def pieces(part: str, shift: int, first_word: int):
        enc = tokenizer(part, add_special_tokens=False, return_offsets_mapping=True, verbose=False,
                        split_special_tokens=True)
        return (enc["input_ids"], [(s + shift, e + shift) for s, e in enc["offset_mapping"]],
                [w + first_word for w in enc.word_ids()])
    if separator is None:
        return pieces(read, 0, 0)
    end = separator + len(tokenizer.sep_token)
    ids, offsets, word_ids = pieces(read[:separator], 0, 0)
    sep_word = max(word_ids, default=-1) + 1
    after = pieces(read[end:], end, sep_word + 1)
    return ([*ids, tokenizer.sep_token_id, *after[0]], [*offsets, (separator, end), *after[1]],
            [*word_ids, sep_word, *after[2]])


def readable(text: str) -> bool:
    """Whether the encoder reads anything of `text`: not only white space, controls, emoji and joiners."""
    return _READABLE.search(text) is not None


def has_letter_or_digit(text: str) -> bool:
    """Whether the encoder reads a letter or a digit of `text` (a Hangul filler, a letter by its
    category, reaches it as a space)."""
    return any(char.isalnum() and not _INVISIBLE.match(char) for char in text)   # stops at the first


def surface(string: str) -> str:
    """A name as the encoder reads it (calibration.name_key compares names seen in training
    through it, their edges trimmed): without its joiners, its half-width and full-width characters
    in their compatibility form ("\uff2e\uff21\uff34\uff2f" is "NATO", see `compatible`), in NFC, its white space
    of any kind and length one space ("Vladimir\u00a0 Putin" is "Vladimir Putin"), as is what the
    encoder reads as one (a zero-width space, a control character, an emoji), none at either end."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", compatible(_JOINERS.sub("", string)))).strip()


def _blank(visible: str, i: int) -> bool:
    """White space, or a joiner: neither starts nor ends a word."""
    return visible[i].isspace() or _JOINERS.match(visible[i]) is not None


_WIDTH_FORMS = re.compile("[\uff00-\uffef]")   # Unicode's block of half-width and full-width forms


@lru_cache(maxsize=1 << 16)
def _compatible_char(char: str) -> str:
    """A half-width or full-width character's compatibility (NFKC) form where that is one
    character: "\uff2e" is "N", which WordPiece reads (it would read "[UNK]"). Others stay as
    written: the vocabulary knows "\u00b2" and "\u00b5", which NFKC would make "2" and "\u03bc"."""
    form = unicodedata.normalize("NFKC", char) if "\uff00" <= char <= "\uffef" else char
    return form if len(form) == 1 else char


def compatible(read: str) -> str:
    """`read` with its half-width and full-width characters in their compatibility form, one
    character for one, so offsets hold (SentencePiece applies NFKC anyway)."""
    return read if read.isascii() else _WIDTH_FORMS.sub(lambda match: _compatible_char(match.group()), read)


def _without_joiners(visible: str) -> tuple[str, list[int] | None]:
    """`visible` without its joiners, and where each of its characters (and its end) sits in
    `visible`; None where it has none."""
    joiners = {match.start() for match in _JOINERS.finditer(visible)}
    if not joiners:
        return visible, None
    kept = [i for i in range(len(visible)) if i not in joiners]
    return "".join(visible[i] for i in kept), kept + [len(visible)]


# BERT's basic tokenizer makes a word of each of these characters: CJK ideographs have no spaces between words
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _breaks_word(char: str) -> bool:
    """A character that is a word of its own, as BERT's basic tokenizer has it: ASCII symbols,
    Unicode punctuation, CJK ideographs; in its compatibility form, as the encoder reads it ("\uff0e")."""
    code = ord(char := _compatible_char(char))
    return 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 \
        or unicodedata.category(char).startswith("P") or any(lo <= code <= hi for lo, hi in _CJK)


def _starts_sentence(text: str, words: list[tuple[int, int]], i: int) -> bool:
    prev_start, prev_end = words[i - 1]
    if LINE_BREAK.search(text, prev_end, words[i][0]):   # any line end, as decoding and recasing read one
        return True
    if compatible(text[prev_start:prev_end]) not in SENTENCE_END or i < 2 or words[i][0] == prev_end:   # "1.5", "2.Q"
        return False
    # "U.S. officials": a full stop after a single letter ends an abbreviation, not a sentence
    before_start, before_end = words[i - 2]
    return before_end - before_start > 1 or not text[before_start].isalpha()
