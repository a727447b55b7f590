"""Gold labels of a document in the model's terms: BIO tag ids on the first subword of each
word, entity spans in words, and document targets. Built once here for training windows,
evaluation and calibration alike."""
from __future__ import annotations

from dataclasses import dataclass, field

from inference.manifest import TaskSpec
from inference.tokenization import EncodedText
from inference.windows import IGNORE

from .corpus import Document, Span


def word_spans(words: list[tuple[int, int]], spans: list[Span]) -> list[tuple[int, int, str]]:
    """Entities as (first word, last word + 1, type): the words each character span touches."""
    result, w = [], 0
    for span in spans:
        while w < len(words) and words[w][1] <= span.start:
            w += 1
        first = w
        while w < len(words) and words[w][0] < span.end:
            w += 1
        if w > first:
            result.append((first, w, span.label))
    return result


def spans_to_tags(n_words: int, spans) -> list[str]:
    """IOB2 tags from (first, last + 1, type, ...) word spans."""
    tags = ["O"] * n_words
    for first, last, label, *_ in spans:
        tags[first] = f"B-{label}"
        for k in range(first + 1, last):
            tags[k] = f"I-{label}"
    return tags


@dataclass
class Gold:
    """What a document is annotated with, for the tasks it is annotated for."""
    entity_spans: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)  # ner task -> word spans
    subword_tags: dict[str, list[int]] = field(default_factory=dict)  # ner task -> tag id per subword (IGNORE
                                                                       # but on first subwords)
    document: dict[str, list[float] | int] = field(default_factory=dict)  # multi: 0/1 per label; else label index


def _known(task: TaskSpec) -> list[str]:
    """The labels a task's gold may hold: entity types for an entity task."""
    return task.entity_types if task.kind == "ner" else task.labels


def _found(doc: Document, task: TaskSpec) -> list[str]:
    """The gold labels `doc` gives `task`, one per span for an entity task."""
    return [s.label for s in doc.spans.get(task.name, [])] if task.kind == "ner" else doc.labels.get(task.name, [])


_ONE_TEXT = object()   # label_problems: a pair task annotated on a document of one text


def label_problems(docs: list[Document], tasks: list[TaskSpec], refuse_unknown: bool = True) -> list[str]:
    """One line per task and label the tasks do not have, at the first document using it (with
    how many more do): no calibration can be fitted against it (`refuse_unknown`; evaluate scores
    it as a miss, see `unknown_labels`). So too a task annotated as the other kind (document labels for
    an entity task, or spans for a document task: a reader's --task naming the wrong one), which
    would give no figure at all, a document with other than one label for a single-label task, and
    one of a single text for a pair task (a Label Studio or Doccano export holds one text a task)."""
    places: dict[tuple[str, str | None], list[str]] = {}
    for doc in docs:
        for task in tasks:
            if task.name in (doc.labels if task.kind == "ner" else doc.spans):
                places.setdefault((task.name, None), []).append(doc.source or "a document")
            for label in sorted(set(_found(doc, task)) - set(_known(task))) if refuse_unknown else ():
                places.setdefault((task.name, label), []).append(doc.source or "a document")
            if task.kind in ("single", "pair") and task.name in doc.labels and len(doc.labels[task.name]) != 1:
                places.setdefault((task.name, ""), []).append(doc.source or "a document")   # else scored by its first
            if task.kind == "pair" and task.name in doc.labels and doc.text_pair is None:   # a Label Studio task, say
                places.setdefault((task.name, _ONE_TEXT), []).append(doc.source or "a document")
    problems = []
    for (name, label), where in places.items():
        more = f"; also {len(where) - 1} more document(s): {', '.join(where[1:4])}{', ...' * (len(where) > 4)}" \
            if len(where) > 1 else ""
        if label is _ONE_TEXT:   # its head would read the one text as a pair's first, and score that
            problems.append(f"{where[0]}: task {name!r} of the model reads text pairs (a headline against its body), "
                            f"but this document is one text (its second text: --format classification with --pair-field, or "
                            f"--format pairs with --bodies; a Label Studio or Doccano export holds one){more}")
        elif label == "":
            problems.append(f"{where[0]}: task {name!r} is single-label in the model, but this document gives it "
                            f"other than one label{more}")
        elif label is None:
            ner = next(task for task in tasks if task.name == name).kind == "ner"
            problems.append(f"{where[0]}: {name} is {'an entity' if ner else 'a document'} task of the model, but "
                            f"annotated here with {'document labels' if ner else 'entity spans'} (check --task){more}")
        else:
            known = _known(next(task for task in tasks if task.name == name))
            problems.append(f"{where[0]}: {name} label {label!r} is not among the model's ({', '.join(known)}){more}")
    return problems


def unknown_labels(docs: list[Document], tasks: list[TaskSpec]) -> list[str]:
    """One line per task and label the tasks do not have: how many spans (entity tasks) or
    documents carry it, and where the first is."""
    found: dict[tuple[str, str], list] = {}   # (task name, label) -> [task, spans, documents, the first document]
    for doc in docs:
        for task in tasks:
            labels = _found(doc, task)
            for label in dict.fromkeys(label for label in labels if label not in _known(task)):
                count = found.setdefault((task.name, label), [task, 0, 0, doc.source or "a document"])
                count[1], count[2] = count[1] + labels.count(label), count[2] + 1
    return [f"{task.name} label {label!r} is not among the model's ({', '.join(_known(task))}): "
            + (f"its {spans} span(s) in {documents} document(s)" if task.kind == "ner" else f"its {documents} document(s)")
            + f" scored as misses (first: {first})" for (_, label), (task, spans, documents, first) in found.items()]


def gold_targets(doc: Document, encoded: EncodedText, tasks: list[TaskSpec], misses: bool = False) -> Gold:
    """`misses`: a label the tasks lack (evaluate scores it as a miss) has no target, where it
    would be refused (a ValueError): training data never holds one, its schema being its own."""
    gold = Gold()
    for task in tasks:
        if task.kind == "ner" and task.name in doc.spans:
            spans = word_spans(encoded.words, doc.spans[task.name])
            tags = spans_to_tags(len(encoded.words), spans)
            per_subword = [IGNORE] * len(encoded.input_ids)
            for w, i in enumerate(encoded.first_subwords):
                # a type the model lacks (scored as a miss by evaluate) has no tag to learn
                per_subword[i] = IGNORE if misses and tags[w] not in task.labels else task.labels.index(tags[w])
            gold.entity_spans[task.name] = spans
            gold.subword_tags[task.name] = per_subword
        elif task.kind == "multi" and task.name in doc.labels:
            gold.document[task.name] = [float(label in doc.labels[task.name]) for label in task.labels]
        elif task.kind != "ner" and task.name in doc.labels:
            label = doc.labels[task.name][0]   # -1: a label the model lacks, which no prediction matches
            gold.document[task.name] = -1 if misses and label not in task.labels else task.labels.index(label)
    return gold
