"""What every reader produces: documents with character-offset entities and document labels,
and the one error type that lists every problem of an input at once."""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


@dataclass
class Document:
    text: str
    spans: dict[str, list[Span]] = field(default_factory=dict)   # ner task -> entity spans
    labels: dict[str, list[str]] = field(default_factory=dict)  # document task -> label(s)
    source: str = ""                                             # "file:line", for messages
    text_pair: str | None = None     # second text of a pair task (e.g. article body after a headline)
    tokens: list[tuple[int, int]] | None = None  # character span of each gold token (column files)
    id: str | int | None = None      # the record's own "id" (news, Doccano, classification), for messages


def annotated_tasks(docs: list[Document]) -> set[str]:
    """The tasks at least one of the documents is annotated for (an empty list counts)."""
    return {name for doc in docs for name in (*doc.spans, *doc.labels)}


# What a problem is about: its text up to ": " or ":<line>: ", so that a path holding a colon (a
# Windows drive, C:\data\train.jsonl, or a folder named for its time, 10:30) is one file
_ABOUT = re.compile(r"(.*?)(?::\d+)?(?:: |$)", re.DOTALL)


class DataError(ValueError):
    """Every problem found in the input, one `file:line: reason` a line: one alone as it is,
    several under a count (not all are records: a missing file, a setting the data contradicts).
    The message shows the first SHOWN of each file, so every file with problems is named;
    `problems` keeps them all."""
    SHOWN = 20   # a file read in the wrong format has a problem on every line

    def __init__(self, problems: list[str]):
        self.problems = problems
        if len(problems) == 1:
            super().__init__(problems[0])
            return
        shown, hidden = [], {}
        for problem in problems:
            where = _ABOUT.match(problem)[1]   # the file (or the setting) it is about
            hidden[where] = hidden.get(where, -self.SHOWN) + 1
            if hidden[where] <= 0:
                shown.append(problem)
        super().__init__(f"{len(problems)} problems:\n" + "\n".join(shown) + "".join(
            f"\n... and {count} more in {where} (is its format the one given or guessed?)"
            for where, count in hidden.items() if count > 0))
