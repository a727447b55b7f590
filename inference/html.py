"""A prediction as one self-contained HTML page: the text with every entity highlighted by type
(its score and NER task on hover), each document task's labels with their probabilities as bars,
and a pair's second text, which the labels read too.
No scripts, fonts or images are fetched: the page opens anywhere, offline."""
from __future__ import annotations

import heapq
import re
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from html import escape

from .tokenization import readable

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# One colour per CoNLL type; other types take those a page leaves unused, then the spares, in turn.
COLOURS = {"PER": "#fde68a", "ORG": "#bfdbfe", "LOC": "#bbf7d0", "MISC": "#fbcfe8"}
SPARE = ("#ddd6fe", "#fed7aa", "#a5f3fc", "#e5e7eb")

STYLE = """
body { font: 16px/1.6 Georgia, serif; max-width: 48em; margin: 2em auto; padding: 0 1em; color: #111; }
.text { white-space: pre-wrap; unicode-bidi: plaintext; }
mark { border-radius: 3px; padding: 0 2px; }
mark::after { content: attr(data-label); font: 10px sans-serif; margin-left: 3px; opacity: .6; }
mark.cut::after { content: none; }
.legend span, .task td { font: 13px sans-serif; }
.legend span { margin-right: 1em; padding: 0 4px; border-radius: 3px; }
table.task { border-collapse: collapse; margin: .5em 0 1.5em; font: 13px sans-serif; }
table.task td { padding: 1px 6px; }
.bar { background: #2563eb; height: 10px; }
.chosen td { font-weight: bold; }
.note { font: 13px sans-serif; color: #555; }
"""


def render(predictions: list, titles: list[str] | None = None) -> str:
    """One page with a section per Prediction (each carries its text), titled by `titles`, one
    for each (default: "document 1", ..., as `predict --html` titles a document without a name)."""
    if titles is None:
        titles = [f"document {i + 1}" for i in range(len(predictions))]
    elif len(titles) != len(predictions):   # zip would drop the sections without a title
        raise ValueError(f"{len(predictions)} predictions but {len(titles)} titles: give one title for each")
    page_title = titles[0] if len(predictions) == 1 else f"{len(predictions)} documents"
    colour = _colours({e.label for p in predictions for e in p.entities})   # a type's colour is the page's
    sections = "".join(_section(p, t, colour) for p, t in zip(predictions, titles))
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{escape(page_title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{sections}</body></html>\n")
    return _LONE_SURROGATE.sub("\ufffd", page)   # half an emoji: UTF-8 cannot hold it, so the page could not be saved


def _colours(types: set[str]) -> dict[str, str]:
    """A colour per entity type: the CoNLL types their own; the others those left unused, then the spares."""
    others = sorted(types - set(COLOURS))
    palette = [c for t, c in COLOURS.items() if t not in types] + list(SPARE)
    return {t: COLOURS[t] for t in types if t in COLOURS} | {t: palette[i % len(palette)] for i, t in enumerate(others)}


def _section(prediction, title: str, colour: dict[str, str]) -> str:
    types = sorted({e.label for e in prediction.entities})
    legend = "".join(f'<span style="background:{colour[t]}">{escape(t)}</span>' for t in types)
    return (f"<section>\n<h1>{escape(title)}</h1>\n{_labels(prediction.labels)}"
            f"<div class=\"legend\">{legend}</div>\n"
            f"<div class=\"text\" dir=\"auto\">{_highlighted(prediction.text, prediction.entities, colour)}</div>\n"
            f"{_second_text(prediction.pair)}</section>\n")


def _second_text(pair: str | None) -> str:
    """A pair's second text (an article body): the labels above were decided on both texts."""
    if pair is None or not readable(pair):   # a second text the encoder cannot read is dropped: the labels read none
        return ""
    return ("<h2>second text</h2>\n<p class=\"note\">read with the text above for the labels; its entities are not "
            f"predicted</p>\n<div class=\"text\" dir=\"auto\">{escape(pair)}</div>\n")


def _highlighted(text: str, entities, colour: dict) -> str:
    # Entities of different NER tasks may overlap: one inside another (or on the same words) is a
    # mark inside the other's; one that crosses a mark's end is marked in pieces, cut where it
    # crosses (each piece names the whole entity; its label follows the last).
    parts, at, ends = [], 0, []   # ends: of the marks open at `at`, innermost last
    queue = [(e.start, -e.end, i) for i, e in enumerate(entities)]   # (piece start, -entity end, order)
    heapq.heapify(queue)
    while queue:
        start, _, i = heapq.heappop(queue)
        e = entities[i]
        while ends and ends[-1] <= start:
            parts.append(escape(text[at:ends[-1]]) + "</mark>")
            at = ends.pop()
        end = e.end
        if ends and end > ends[-1]:   # the rest follows once the crossed mark is closed
            end = ends[-1]
            heapq.heappush(queue, (end, -e.end, i))
        parts.append(escape(text[at:start]))
        cut = ' class="cut"' if end < e.end else ""
        parts.append(f'<mark style="background:{colour[e.label]}" data-label="{escape(e.label)}" '
                     f'data-task="{escape(e.task)}" data-start="{e.start}" data-end="{e.end}" '
                     f'title="{escape(e.label)} {_two_decimals(e.score)} ({escape(e.task)})"{cut}>')
        at = start
        ends.append(end)
    while ends:
        parts.append(escape(text[at:ends[-1]]) + "</mark>")
        at = ends.pop()
    parts.append(escape(text[at:]))
    return "".join(parts)


def _labels(labels: dict) -> str:
    rows = []
    for task, ranked in labels.items():
        cells = "".join(f'<tr class="{"chosen" if l.chosen else ""}"><td>{escape(l.label)}</td>'
                        f'<td style="width:12em"><div class="bar" style="width:{100 * l.score:.1f}%"></div></td>'
                        f"<td>{_two_decimals(l.score, l.chosen)}</td></tr>" for l in ranked)
        rows.append(f"<h2>{escape(task)}</h2>\n<table class=\"task\">{cells}</table>\n")
    return "".join(rows)


def _two_decimals(score: float, chosen: bool = True) -> str:
    """A score to 2 decimals, of its shortest decimal form, half to even (0.295 is 0.30, where :.2f
    reads the binary float as 0.29; 0.285 is 0.28), rounded down if it is a label not chosen: 0.4996
    not chosen at a threshold of 0.5 shows 0.49, not the 0.50 of a chosen 0.5004, and a chosen label
    beating another never shows less than it. An entity's is rounded as a chosen label's."""
    return str(Decimal(str(score)).quantize(Decimal("0.01"), ROUND_HALF_EVEN if chosen else ROUND_FLOOR))
