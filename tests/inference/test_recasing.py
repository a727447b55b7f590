import unicodedata

import pytest

from inference.recasing import _starts_sentence, is_capital_line, recase_capital_lines

ARTICLE = ("SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT .\n"
           "AL-AIN , United Arab Emirates 1996-12-06\n"
           "Japan began the defence of their title with a lucky 2-1 win against Syria .\n"
           "China lost to Uzbekistan in a surprise defeat .\n")


def test_a_line_in_capitals_takes_the_forms_of_the_rest_of_the_document():
    recased = recase_capital_lines(ARTICLE)
    assert recased.splitlines()[0] == "SOCCER - JAPAN GET lucky win , CHINA in surprise defeat ."
    assert recased.splitlines()[1:] == ARTICLE.splitlines()[1:]


def test_a_capital_at_the_start_of_a_sentence_is_no_evidence():
    """"Japan" and "China" open their sentences above, so they stay in capitals; inside a
    sentence, or after an opening quote at its start, a word shows its own form."""
    text = "TALKS WITH JAPAN END\nOfficials in Japan said talks end .\n\" With that , it was over .\n"
    assert recase_capital_lines(text).splitlines()[0] == "talks WITH Japan end"
    assert recase_capital_lines(text + "They met with him .\n").splitlines()[0] == "talks with Japan end"


def test_offsets_survive_every_rewrite():
    text = "STRASSE UND MASSE\nDie Straße und die Masse .\nİSTANBUL\nin İstanbul\n"
    recased = recase_capital_lines(text)
    assert len(recased) == len(text)
    assert recased.splitlines()[0] == "STRASSE und Masse"   # "Straße" is shorter than "STRASSE": kept


def test_a_word_written_with_combining_accents_is_one_word():
    """Text in NFD writes "É" as "E" and a combining accent: before, "ÉLYSÉE" was read as the words
    "É", "LYSE" and "E", and recased to "ÉlyséE". It is recased as the same text in NFC is, a
    single accented letter ("É") kept as an initial."""
    text = "ÉLYSÉE TALKS IN SÃO PAULO: É OVER\nAt the Élysée, talks in São Paulo, é over .\n"
    nfd = unicodedata.normalize("NFD", text)
    recased = recase_capital_lines(nfd)
    assert recased.splitlines()[0] == unicodedata.normalize("NFD", "Élysée talks in São Paulo: É over")
    assert recased == unicodedata.normalize("NFD", recase_capital_lines(text))


def test_a_word_is_recased_from_its_form_in_the_other_normalisation_in_its_own():
    """Before, a line in capitals in NFD ("MU\u0308LLER") was not recased from an NFC "Müller" in the
    body (nor the other way round): their keys differed. Recased, it keeps its own writing and length."""
    nfd = unicodedata.normalize("NFD", "MÜLLER SPRICHT MIT DER PRESSE")
    text = nfd + "\nDann sprach Herr Müller mit der Presse .\n"
    recased = recase_capital_lines(text)
    assert recased.splitlines()[0] == unicodedata.normalize("NFD", "Müller SPRICHT mit der Presse")
    assert len(recased) == len(text)
    text = "MÜLLER SPRICHT\n" + unicodedata.normalize("NFD", "Dann sprach Herr Müller .\n")
    assert recase_capital_lines(text).splitlines()[0] == "Müller SPRICHT"
    # the body also writes it in capitals (in NFC): the name, kept
    assert recase_capital_lines(nfd + "\nDann sprach MÜLLER mit Müller .\n").splitlines()[0].startswith(
        unicodedata.normalize("NFD", "MÜLLER"))


def test_a_form_that_no_normalisation_writes_letter_for_letter_as_the_word_is_kept():
    """Marks in another order ("Q\u0307\u0323", NFC "Q\u0323\u0307") are the same word, but no
    writing of the body's form matches the line's letter for letter: the capitals stay."""
    line = "Q\u0307\u0323UUX SPRICHT MIT DER PRESSE"
    text = line + "\nDann sprach Herr Q\u0323\u0307uux mit der Presse .\n"
    recased = recase_capital_lines(text)
    assert recased.splitlines()[0] == "Q\u0307\u0323UUX SPRICHT mit der Presse"
    assert len(recased) == len(text)


def test_only_lines_wholly_in_capitals_change():
    assert is_capital_line("NATO AND THE EU MEET")
    assert not is_capital_line("NATO and the EU meet")
    assert not is_capital_line("US")            # too short to be a headline
    assert not is_capital_line("1996-12-06")
    text = "NATO and the EU meet in Brussels .\nThe EU said nato was wrong .\n"
    assert recase_capital_lines(text) == text


def test_initials_and_acronyms_keep_their_capitals():
    """"U.S." is two single letters, and the possessive "'s" is no evidence for the second; a
    document that writes "US" in capitals inside a sentence means the name, whatever else it has."""
    assert recase_capital_lines("U.S. TROOPS LEAVE\nThe Pentagon 's troops leave .\n").splitlines()[0] == \
        "U.S. troops leave"
    assert recase_capital_lines("US TROOPS LEAVE\nThey told us the US troops leave .\n").splitlines()[0] == \
        "US troops leave"


@pytest.mark.parametrize("before, starts", [("", True), ("They met .  ", True), ("Talks end ! \"( ", True),
                                            ("They met in", False), ("the ' ", False), ("end .\u00a0\u201c ", True)])
def test_a_sentence_starts_after_its_end_blanks_and_opening_quotes(before, starts):
    """Only what lies between the word and the previous word is read: blanks, then opening
    quotes, then blanks again (the look-back stops there, so a long line is not read again for
    each of its words)."""
    assert _starts_sentence(before + "Word", len(before)) is starts


def test_a_small_letter_without_a_capital_of_its_own_leaves_a_line_in_capitals():
    """German writes "ß" small in capitals ("GROßE"): the line was read as not in capitals, and
    kept as written."""
    assert is_capital_line("GROßE KOALITION STREITET")
    assert not is_capital_line("Große Koalition")
    assert recase_capital_lines("GROßE KOALITION STREITET\nDie große Koalition streitet .\n").splitlines()[0] == \
        "große Koalition streitet"
