"""Recase lines written in capitals (headlines, datelines) from the rest of their document.

A cased encoder reads "JAPAN GET LUCKY WIN" as rare, split-up pieces, and capitals no longer
tell names from other words. Each word of such a line takes the form the same word has
inside a sentence elsewhere in the document ("Japan", "lucky"). A word with no such evidence
keeps its capitals, and so do a single letter ("U.S.") and a word the document also writes in
capitals inside a sentence ("the US said": "US", even beside "told us"); "US" with only "us"
for evidence still becomes "us". Only the encoder's input changes: the recased text has the
original's length, so offsets and word shapes still come from the original. A word is the same
word in NFC and NFD ("Müller", "Mu\u0308ller"), and is recased in its own writing.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict

# a run of letters, each with the combining accents after it (text in NFD writes "É" as "E\u0301")
_WORD = re.compile(r"(?:[^\W\d_][\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]*)+")
_SENTENCE_END = frozenset(".!?")
MIN_CAPITAL_LETTERS = 4             # "US" or "UK" alone is a name, not a line in capitals


def is_capital_line(line: str) -> bool:
    """Every cased letter is a capital, and there are at least MIN_CAPITAL_LETTERS of them. A
    small letter with no capital of one letter ("ß", whose capital is "SS") is written small in
    capitals too ("GROßE KOALITION"), and counts as neither."""
    cased = [c for c in line if c.isupper() or (c.islower() and len(c.upper()) == 1 and c.upper() != c)]
    return len(cased) >= MIN_CAPITAL_LETTERS and all(c.isupper() for c in cased)


def recase_capital_lines(text: str) -> str:
    """`text` with each word of its lines in capitals in its most frequent form inside a
    sentence of the document's other lines (not first in a sentence, where a capital says
    nothing), initials and acronyms apart; the same length as `text`."""
    lines = text.splitlines(keepends=True)
    capital = [is_capital_line(line) for line in lines]
    if not any(capital):
        return text
    forms: dict[str, Counter] = defaultdict(Counter)
    for line, is_capital in zip(lines, capital):
        if not is_capital:
            for match in _WORD.finditer(line):
                if not _starts_sentence(line, match.start()):
                    forms[_key(match.group())][match.group()] += 1

    def recased(match: re.Match) -> str:
        word = match.group()
        seen = forms.get(_key(word))
        nfc = unicodedata.normalize("NFC", word)
        if not seen or sum(map(str.isalpha, word)) == 1 or any(unicodedata.normalize("NFC", f) == nfc for f in seen):
            return word   # no evidence, an initial, or an acronym (in NFC or NFD)
        form = seen.most_common(1)[0][0]
        # the form written as the word is (NFC or NFD), letter for letter; else ("ß" against "SS") kept: offsets exact
        for written in (form, unicodedata.normalize("NFC", form), unicodedata.normalize("NFD", form)):
            if len(written) == len(word) and written.lower() == word.lower():
                return written
        return word

    return "".join(_WORD.sub(recased, line) if is_capital else line for line, is_capital in zip(lines, capital))


def _key(word: str) -> str:
    """What the forms of one word share: its small letters, in NFC."""
    return unicodedata.normalize("NFC", word.lower())


def _starts_sentence(line: str, start: int) -> bool:
    """Whether the word at `start` opens a sentence: only the blanks and opening quotes (which
    open one too) before it are read, not the whole line again for each word of it."""
    i = start
    for skipped in (str.isspace, "\"'“‘(".__contains__, str.isspace):
        while i and skipped(line[i - 1]):
            i -= 1
    return not i or line[i - 1] in _SENTENCE_END
