"""Read CoNLL column files (CoNLL-2003 and the like) into Documents with character-offset entities.

Each line is `token [other columns] tag`: 2 or more columns (CoNLL-2003's 4: token pos chunk tag;
Dutch CoNLL-2002's 3; German CoNLL-2003's 5), token first and NER tag last, separated by spaces or
by tabs (whichever most of its lines use). A first column of numbers (a token index) or two
last columns of tags (gold and predicted) are refused, not read as token and tag. A blank line
ends a sentence and a `-DOCSTART-` line starts a new document. A line whose first word is `#` and
that is no token line (`# sent_id = 1`, `# text = ...`, as CoNLL-U writes them) is a comment, skipped;
`# O` is the token `#`. Tags are IOB1, IOB2 (BIO) or BIOES (BILOU's L- and U-
read as E- and S-); the reader decodes them to spans so the rest of the trainer never sees a scheme.
An entity of tokens the encoder does not read (a zero-width space, an emoji) is refused, as the
other readers refuse such a span: it would vanish from training.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from inference.tokenization import readable
from training.corpus import Document, Span
from training.readers._files import finish, read_lines

DOCSTART = "-DOCSTART-"
# Scheme names a caller may pass -> the scheme they mean; BIO is IOB2 and BILOU is BIOES renamed.
SCHEMES = {"IOB1": "IOB1", "IOB2": "IOB2", "BIO": "IOB2", "BIOES": "BIOES", "BILOU": "BIOES"}
PREFIXES = {"IOB1": "BI", "IOB2": "BI", "BIOES": "BIES"}
_ALIASES = {"L": "E", "U": "S"}


def read_conll(path: str | Path, task: str = "entities", scheme: str = "auto",
               strict: bool = False) -> list[Document]:
    """One Document per `-DOCSTART-` document (per sentence in a file without them).

    `strict` turns scheme violations into errors: an I- (or E-) that starts an entity in IOB2 or
    BIOES, a B- that does not split two same-type entities in IOB1, a BIOES entity left without
    its E-. Without it they are decoded the forgiving way (conlleval's): such a tag starts an entity.
    """
    path = Path(path)
    if scheme.upper() != "AUTO" and scheme.upper() not in SCHEMES:
        raise ValueError(f"{path}: unknown tag scheme {scheme!r} (known: auto, {', '.join(SCHEMES)})")
    problems: list[str] = []
    lines = [unmarked(line) for line in read_lines(path)]
    return finish(path, _decoded(path, _parse(path, lines, problems), task, scheme, strict, problems), problems,
                  "no sentences")


def unmarked(line: str) -> str:
    """A CoNLL line without the byte-order mark that files joined by cat keep, each at its first line:
    one before -DOCSTART- would hide it, and one alone (an empty file's) is a blank line. A mark
    that is a token of its own ("\ufeff O") stays one."""
    return line[1:] if line[:1] == "\ufeff" and (line[1:2].strip() or not line[1:].strip()) else line


def parse_tag(tag: str, where: str, problems: list[str], unknown: dict) -> tuple[str | None, str]:
    """(prefix, type) of a tag: O, B, I, E or S (L- and U- read as E- and S-), or None for a tag
    that cannot be read: said once a file, at its first place in `problems` (which say_unknown_tags
    words with its count: a file tagged IO, PER with no B-/I-, has one on every entity token)."""
    if tag == "O":
        return "O", ""
    prefix, _, etype = tag.partition("-")
    prefix, etype = _ALIASES.get(prefix, prefix), etype.strip()   # a type without white space around it, as every label
    if len(prefix) != 1 or prefix not in "BIES" or not etype:
        if tag not in unknown:
            unknown[tag] = [len(problems), 0]
            problems.append(where)   # its place among the file's problems, worded by say_unknown_tags
        unknown[tag][1] += 1
        return None, etype
    return prefix, etype


def say_unknown_tags(problems: list[str], unknown: dict) -> None:
    """Word the problem parse_tag left at each unknown tag's first place."""
    for tag, (at, count) in unknown.items():
        hint = ("; the outside tag is the letter O" if tag in ("0", "o") else
                f"; a type without a prefix (IO tagging?) does not say where one entity ends and the next begins: "
                f"tag them I-{tag} to read them as IOB1" if tag.isalnum() and tag[0].isalpha() else "")
        problems[at] = (f"{problems[at]}: unknown tag {tag!r}" + (f" (on {count} tokens, the first here)" if count > 1
                                                                   else "")
                        + f": expected O, or B-, I-, E-, S-, L- or U- followed by the entity type{hint}")


def decode_tagged(where: str, documents: list[tuple[int, list[list[tuple[str, str]]]]], task: str,
                  scheme: str = "auto", problems: list[str] | None = None) -> list[Document]:
    """Documents from already split tokens and tags: [(first row, [sentence of (token, tag)])],
    decoded exactly as a column file is (problems say `where:row`)."""
    problems, unknown = [] if problems is None else problems, {}
    parsed = [(first, [[[first, token, tag, *parse_tag(tag, f"{where}:{first}", problems, unknown)]
                        for token, tag in sentence] for sentence in sentences]) for first, sentences in documents]
    say_unknown_tags(problems, unknown)
    return _decoded(where, parsed, task, scheme, False, problems)


def _decoded(path, documents, task: str, scheme: str, strict: bool, problems: list[str]) -> list[Document]:
    scheme = _detect(documents, strict) if scheme.upper() == "AUTO" else SCHEMES[scheme.upper()]
    docs = []
    for first, sentences in documents:
        spans = []
        for sentence in sentences:
            _check_prefixes(path, sentence, scheme, problems)
            spans.append(_decode(path, sentence, scheme, strict, problems))
            problems += [f"{path}:{sentence[i][0]}: entity {etype} {words!r} has only white space or characters "
                         f"the encoder does not read" for i, j, etype in spans[-1]
                         if not readable(words := " ".join(t[1] for t in sentence[i:j]))]   # it would vanish
        docs.append(_document(f"{path}:{first}", sentences, spans, task))
    return docs


def _parse(path: Path, lines: list[str], problems: list[str]) -> list[tuple[int, list[list]]]:
    """[(first line, sentences)]; a sentence is a list of [line, token, tag, prefix, type].

    prefix is O, B, I, E or S, or None for a tag that could not be read (already reported).
    """
    content = [line for line in lines if line.strip()]
    if not content:
        return []
    # Most token lines decide the separator for the whole file, so that an odd line (the first, say)
    # is the one reported; -DOCSTART- lines, whose other columns vary between files (spaces in a
    # tab-separated file), are known by their first word.
    starts_document = lambda line: line.split(maxsplit=1)[0] == DOCSTART
    hashed = lambda line: line.split(maxsplit=1)[0] == "#"   # a comment, or the token "#": neither votes
    content = [line for line in content if not hashed(line)] or content
    tokens = [line for line in content if not starts_document(line)] or content
    tabs = 2 * sum("\t" in line.rstrip() for line in tokens) >= len(tokens)   # as the columns are split

    def split(line: str) -> list[str]:
        return line.split("\t") if tabs else [c for c in line.split(" ") if c]

    # The usual column count, not the first line's, so that one odd first line is the one reported.
    widths = Counter(len(split(line.rstrip())) for line in content if not starts_document(line))
    width = widths.most_common(1)[0][0] if widths else 2
    if width < 2:
        problems.append(f"{path}: lines have 1 column; a CoNLL line has the token first and the NER tag "
                        f"last, 2 or more columns")
        return []
    misplaced = _misplaced_columns(path, [split(line.rstrip()) for line in content if not starts_document(line)])
    if misplaced:
        problems.append(misplaced)
        return []
    documents: list[list] = [[None, []]]   # sentences before any -DOCSTART- form a document too
    sentence, unknown = None, {}
    for number, line in enumerate(lines, 1):
        line = line.rstrip()
        if not line:
            sentence = None
            continue
        if starts_document(line):   # never ragged
            documents.append([number, []])
            sentence = None
            continue
        cols = split(line)
        if hashed(line) and (len(cols) != width or parse_tag(cols[-1].strip(), "", [], {})[0] is None):
            continue   # "# sent_id = 1", "# text = ...": a comment, as CoNLL-U and many exports write them
        if len(cols) != width:
            problems.append(f"{path}:{number}: ragged columns: {len(cols)} here, {width} in the rest "
                            f"of the file ({'tab' if tabs else 'space'}-separated)")
            continue
        token, tag = cols[0].strip(), cols[-1].strip()
        if not token:
            problems.append(f"{path}:{number}: empty token")
        prefix, etype = parse_tag(tag, f"{path}:{number}", problems, unknown)
        if sentence is None:
            sentence = []
            documents[-1][1].append(sentence)
        sentence.append([number, token, tag, prefix, etype])
    say_unknown_tags(problems, unknown)
    if len(documents) == 1:   # no -DOCSTART- at all: every sentence is a document
        return [(s[0][0], [s]) for s in documents[0][1]]
    return [(first or sentences[0][0][0], sentences) for first, sentences in documents if sentences]


def _misplaced_columns(path: Path, rows: list[list[str]]) -> str | None:
    """Why a file of 3 or more columns does not have the token first and the gold tag last, or None:
    a first column of numbers (WikiNEuRal's token index) would train on the numbers, and two last
    columns of tags of one set of types (conlleval's gold then predicted) on the predictions.
    CoNLL-2003's chunk column holds tags too, but of other types (NP, VP)."""
    rows = [row for row in rows if len(row) >= 3]
    if not rows:
        return None
    if all(row[0].strip().isdigit() for row in rows):
        return f"{path}: the first column is a number on every line (a token index?): a CoNLL line has the token first"
    unreadable: dict = {}   # the column before the last is not all tags: nothing to say
    before = {parse_tag(row[-2].strip(), "", [], unreadable)[1] for row in rows}
    if not unreadable and before & {parse_tag(row[-1].strip(), "", [], unreadable)[1] for row in rows} - {""}:
        return (f"{path}: the last two columns both hold NER tags (gold and predicted?): a CoNLL line has its gold "
                f"tag last")
    return None


def _detect(documents, strict: bool) -> str:
    """BIOES if any E-/S- tag; IOB1 if an I- ever starts an entity (IOB2 when strict: it is an error)."""
    sentences = [s for _, doc in documents for s in doc]
    if any(t[3] in ("E", "S") for s in sentences for t in s):
        return "BIOES"
    for s in sentences:
        for prev, t in zip([None] + s, s):
            if t[3] == "I" and not (prev and prev[3] in ("B", "I") and prev[4] == t[4]):
                return "IOB2" if strict else "IOB1"
    return "IOB2"


def _check_prefixes(path: Path, sentence: list[list], scheme: str, problems: list[str]) -> None:
    for t in sentence:
        if t[3] not in (None, "O") and t[3] not in PREFIXES[scheme]:
            problems.append(f"{path}:{t[0]}: tag {t[2]!r} does not belong to the {scheme} scheme")
            t[3] = None   # decoded as an unreadable tag, so it causes no second message


def _decode(path: Path, sentence: list[list], scheme: str, strict: bool,
            problems: list[str]) -> list[tuple[int, int, str]]:
    """Entities as (first token, token past the last, type); strict violations go to `problems`."""
    spans, open_ = [], None   # open_: (first token, type) of the entity being read

    def close(stop: int) -> None:
        nonlocal open_
        if open_ is None:
            return
        last = sentence[stop - 1]
        if strict and scheme == "BIOES" and last[3] in ("B", "I"):
            problems.append(f"{path}:{last[0]}: {last[2]} ends the entity: BIOES ends it with E-{open_[1]}")
        spans.append((open_[0], stop, open_[1]))
        open_ = None

    for i, (line, _, tag, prefix, etype) in enumerate(sentence):
        if prefix in (None, "O"):
            close(i)
            continue
        continues = open_ is not None and open_[1] == etype
        if prefix in ("B", "S") or not continues:
            # After an unreadable tag there is nothing to judge against: that tag is reported already.
            if strict and (i == 0 or sentence[i - 1][3] is not None):
                where = "at the start of a sentence" if i == 0 else f"after {sentence[i - 1][2]}"
                if prefix in ("I", "E") and scheme != "IOB1":
                    problems.append(f"{path}:{line}: {tag} {where}: an entity starts with "
                                    f"{'B- or S-' if scheme == 'BIOES' else 'B-'} in strict {scheme}")
                elif prefix == "B" and scheme == "IOB1" and not continues:
                    problems.append(f"{path}:{line}: {tag} {where}: IOB1 uses B- only between two "
                                    f"{etype} entities; an entity starts with I-")
            close(i)
            open_ = (i, etype)
        if prefix in ("E", "S"):
            close(i + 1)
    close(len(sentence))
    return spans


def _document(source: str, sentences: list[list], entities: list, task: str) -> Document:
    """Tokens joined by single spaces, sentences by newlines; spans and tokens as character offsets."""
    tokens, spans, offset = [], [], 0
    for sentence, sentence_entities in zip(sentences, entities):
        base = len(tokens)
        for t in sentence:
            tokens.append((offset, offset + len(t[1])))
            offset += len(t[1]) + 1   # the space after a token, or the newline after a sentence
        spans += [Span(tokens[base + i][0], tokens[base + j - 1][1], etype) for i, j, etype in sentence_entities]
    text = "\n".join(" ".join(t[1] for t in sentence) for sentence in sentences)
    return Document(text, spans={task: spans}, source=source, tokens=tokens)
