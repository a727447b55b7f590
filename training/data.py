"""A run's documents: every file read and validated, tasks and labels found, dev held out and
training sampled as configured, and a SHA-256 of each file for the manifest."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from inference.checkpoint import MANIFEST, an_export, export_mark
from inference.manifest import Manifest
from inference.tokenization import has_letter_or_digit

from .config import TrainConfig
from .corpus import DataError, Document, annotated_tasks
from .readers.hf_datasets import recorded_name
from .schema import load_schema, schema_of
from .sources import Source, infer_schema, merge_schemas, read_source, several_labels

SPLITS = ("train", "dev", "test")


@dataclass
class RunData:
    schema: dict[str, dict]
    train: list[Document]
    dev: list[Document] | None
    test: list[Document] | None
    sha256: dict[str, str]        # file path -> SHA-256 of its bytes (see fingerprint)
    trained_sha256: dict[str, str] = field(default_factory=dict)   # of sha256, the train and dev files
    untrained: list[str] = field(default_factory=list)   # schema tasks no training document annotates: left out
    scored: list[str] = field(default_factory=list)   # what dev and test score: these, and what --init-from carries
    checkpoint: Manifest | None = None   # --init-from's, read once: the run starts from the model it describes
    # task -> (where a document's labels made it multi-label, how many did, of how many; sources.several_labels)
    several_labels: dict[str, tuple[str, int, int]] = field(default_factory=dict)


def as_sources(value, split: str = "train") -> list[Source]:
    """A split's data as the config gives it (a path, a {"path", "format", "options"} table, a
    datasets.Dataset, or a list of them) as Sources."""
    if value is None or isinstance(value, list) and not value:   # (`value == []` of a DataFrame is a table)
        return []
    items = value if isinstance(value, list) else [value]
    keys = [f.name for f in dataclasses.fields(Source)]   # what a table may name
    sources = []
    for number, item in enumerate(items, 1):
        path = item.get("path") if isinstance(item, dict) and type(item).__name__ != "DatasetDict" else item
        if type(path).__name__ == "DatasetDict":   # a dict of splits, not a table; in a table's path too
            raise ValueError(f"{split} {number}: a DatasetDict; give one of its splits ({', '.join(path)}), "
                             f"e.g. dataset[{next(iter(path), 'train')!r}]")
        if isinstance(path, str) and not path:   # an unset shell variable: not the working folder, nor no data
            raise ValueError(f"{split} {number}: an empty path (an unset shell variable?): give a file or folder")
        if isinstance(item, dict):
            unknown = sorted(set(item) - set(keys))
            if unknown or "path" not in item:
                wrong = f"unknown key(s) {', '.join(unknown)}" if unknown else "no path"
                raise ValueError(f"{split} table {number}: {wrong} (a table takes {', '.join(keys)})")
            item = Source(**item)
        elif not isinstance(item, (str, Path, Source)) and not hasattr(item, "_fingerprint"):   # not a Dataset
            hint = ": datasets.Dataset.from_pandas(frame) makes one" if type(item).__name__ == "DataFrame" else ""
            raise ValueError(f"{split} {number}: a path, a table or a datasets.Dataset, not {type(item).__name__}{hint}")
        sources.append(item if isinstance(item, Source) else Source(item))
    return sources


def fingerprint(data) -> str:
    """SHA-256 of a file's bytes, or of every file in a folder (names included); a dataset in
    memory is named by its own fingerprint."""
    if not isinstance(data, (str, Path)):
        return f"datasets-fingerprint:{data._fingerprint}"
    path = Path(data)
    if path.is_dir():
        return folder_fingerprint(files_sha256(path))
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:   # streamed: an encoder's weights may be large
        return hashlib.file_digest(f, "sha256").hexdigest()


def files_sha256(folder: Path) -> dict[str, str]:
    """The SHA-256 of every file in `folder`, by its path there, in the order fingerprint reads them."""
    return {str(file.relative_to(folder)): file_sha256(file)
            for file in sorted(p for p in folder.rglob("*") if p.is_file())}


def folder_fingerprint(files: dict[str, str]) -> str:
    """A folder's fingerprint from files_sha256 (an --init-from checkpoint's, whose weights' digests the
    manifest records too: its files are read once)."""
    digest = hashlib.sha256()
    for name, sha256 in files.items():
        digest.update(name.encode() + b"\0" + bytes.fromhex(sha256))
    return digest.hexdigest()


def checkpoint_manifest(checkpoint: str) -> Manifest:
    """The manifest of the checkpoint --init-from names, or an error that names the setting."""
    try:
        return Manifest.read(Path(checkpoint) / MANIFEST)
    except (OSError, ValueError) as exc:
        if (mark := export_mark(Path(checkpoint))) is not None:   # not "[Errno 2] ... manifest.json" alone
            raise ValueError(f"init_from {checkpoint}: {an_export(mark)} (a token classifier), not a "
                             f"checkpoint: give the checkpoint it was exported from, or train anew from its encoder "
                             f"with --base {checkpoint} (base in a config file)") from None
        raise ValueError(f"init_from {checkpoint}: not a checkpoint folder ({exc})") from None


def describe(data) -> str:
    """How the manifest names a split's data: its path, or a dataset in memory by fingerprint."""
    return str(data) if isinstance(data, (str, Path)) else recorded_name(data)


def read_data(config: TrainConfig) -> RunData:
    """Every file of every split is read and validated, and all problems reported together,
    before anything trains."""
    splits = {name: as_sources(getattr(config, name), name) for name in SPLITS}
    # a schema no file reads: refused, not ignored, as a reader flag no file's reader takes
    if config.schema and "news" not in (formats := sorted({s.resolved_format for ss in splits.values() for s in ss})):
        raise ValueError(f"schema {config.schema}: only news JSON lines are read by a schema, and no file of this run "
                         f"is one ({', '.join(formats)}): leave it out, or check the files' format")
    news_schema = load_schema(config.schema)
    kept = checkpoint_manifest(config.init_from) if config.init_from else None   # checked before the data is read
    checkpoint = schema_of(kept.tasks) if kept else {}
    schema_name = f"the schema {config.schema or '(the news schema, data/README.md)'}"
    if kept and any(s.resolved_format == "news" for sources in splits.values() for s in sources):
        # a news file's fields for the checkpoint's tasks are read too, not only those --schema lists
        news_schema = merge_schemas(checkpoint, news_schema, f"the checkpoint {config.init_from}", schema_name)
    read, problems = {name: [] for name in splits}, []
    for name, sources in splits.items():
        for source in sources:
            try:
                read[name].append((source, read_source(source, news_schema)))
            except DataError as exc:
                problems.extend(exc.problems)
            except OSError as exc:   # missing, a folder, unreadable: one problem among the others
                problems.append(f"{exc.filename or source.path}: {exc.strerror or exc}")
    hints = {"news": f" of the schema ({', '.join(news_schema)}): check the field names, or give the format of the "
                     "tool that wrote it (a Doccano classification export: --format doccano)",
             "label-studio": " (an export without a single span annotates no entities: Label Studio writes nothing "
                             "for a text without one)"}
    for source, docs in (pair for pairs in read.values() for pair in pairs):   # a file that adds nothing: another
        if docs and not annotated_tasks(docs):   # tool's records read as news, say, or an export of unlabelled texts
            problems.append(f"{source.path}: none of its {len(docs)} documents annotates a task"
                            + hints.get(source.resolved_format, ""))
    if kept:
        problems.extend(defaulted_new_tasks(read, kept, config.init_from))
    if problems:
        raise DataError(problems)
    other = [(s, d) for pairs in read.values() for s, d in pairs if s.resolved_format != "news"]
    schema, first_seen = infer_schema(other)
    if kept:   # a task of another kind than the checkpoint's, named with the record that first gives it
        merge_schemas(checkpoint, schema, f"the checkpoint {config.init_from}", first_seen)
    several = {task: found for task, found in several_labels(other).items() if task not in checkpoint}
    if len(other) < sum(len(pairs) for pairs in read.values()):  # some files are news JSON lines
        schema = merge_schemas(news_schema, schema, schema_name, first_seen)
        several = {task: found for task, found in several.items() if task not in news_schema}   # its kind is given
    docs = {name: [d for _, ds in pairs for d in ds] or None for name, pairs in read.items()}
    if docs["dev"] is None and config.dev_fraction > 0:
        docs["train"], docs["dev"] = hold_out_documents(docs["train"], config.dev_fraction, config.seed)
    if config.max_train_docs and len(docs["train"]) > config.max_train_docs:
        docs["train"] = random.Random(config.seed).sample(docs["train"], config.max_train_docs)
    schema, untrained = trained_tasks(schema, docs["train"] or [])
    scored = [*schema, *(t for t in checkpoint if t not in schema)]   # carried over too
    for split, purpose in (("dev", "to score the epochs on"), ("test", "to score")):
        if docs[split] and not annotated_tasks(docs[split]) & set(scored):
            raise DataError([f"no {split} document is annotated for a task this run scores ({', '.join(scored)}): "
                             f"nothing {purpose}"])
    files = {split: source_files(sources) for split, sources in splits.items()}
    sha256 = {describe(f): fingerprint(f) for split_files in files.values() for f in split_files}
    trained = {describe(f): sha256[describe(f)] for split in ("train", "dev") for f in files[split]}
    return RunData(schema, docs["train"], docs["dev"], docs["test"], sha256, trained, untrained, scored, kept,
                   {task: found for task, found in several.items() if task in schema})


# the reader option that names each format's tasks, where the reader gives them a default name
_NAMING = {"conll": ("task", "ner"), "classification": ("task", "labels"), "pairs": ("task", "labels"),
           "hf": ("task", None), "doccano": ("ner_task", "ner", "label_task", "labels"),
           "label-studio": ("ner_task", "ner")}


def defaulted_new_tasks(read: dict[str, list], kept: Manifest, checkpoint: str) -> list[str]:
    """A problem for each task that a training file's reader named by default (classification data as
    `label`) where --init-from's checkpoint has no task of that name but one of that kind (entities,
    labels of one text, of a pair) sharing some of its labels: the run would add it as a second head
    beside the one the data likely annotates. Labels shared with no head read as a new task."""
    heads = {t.name: t for t in kept.tasks}
    kind_of = lambda t: "ner" if t.kind == "ner" else "pair" if t.kind == "pair" else "labels"
    problems = []
    for source, docs in read.get("train", []):   # dev and test data of a task the run scores no head: refused apart
        naming = _NAMING.get(source.resolved_format, ())
        defaulted = {holds: option for option, holds in zip(naming[::2], naming[1::2])
                     if source.options.get(option) is None}
        found: dict[str, tuple[str, set]] = {}   # task: (its kind, its labels)
        for doc in docs:
            for task, spans in doc.spans.items():
                found.setdefault(task, ("ner", set()))[1].update(s.label for s in spans)
            for task, labels in doc.labels.items():
                found.setdefault(task, ("labels" if doc.text_pair is None else "pair", set()))[1].update(labels)
        for task, (kind, labels) in found.items():
            option = defaulted.get("ner" if kind == "ner" else "labels", defaulted.get(None))
            shared = {t.name: len(labels & set(t.entity_types if kind == "ner" else t.labels))
                      for t in heads.values() if kind_of(t) == kind}
            if option is None or task in heads or not any(shared.values()):
                continue
            best = max(shared, key=shared.get)
            flag = "--" + option.replace("_", "-")
            problems.append(
                f"{describe(source.path)}: its {'entities' if kind == 'ner' else 'document labels'} go to task "
                f"{task!r}, the {source.resolved_format} reader's default name, and the checkpoint {checkpoint} has no "
                f"task {task!r} (its tasks: {', '.join(f'{t.name} ({t.kind})' for t in heads.values())}): the run "
                f"would train a new head {task!r} beside them. Give {flag} {best} (reader option {option}) to train "
                f"the checkpoint's head, or {flag} {task} for a new head")
    return problems


def trained_tasks(schema: dict[str, dict], train: list[Document]) -> tuple[dict[str, dict], list[str]]:
    """(the schema's tasks some training document annotates, the others): a head with nothing to
    learn from would still predict, at random (a news file's `topic` named otherwise in every record)."""
    annotated = annotated_tasks(train)
    if train and not annotated & set(schema):
        raise DataError([f"no training document is annotated for any task ({', '.join(schema)}): "
                         "check the field or column names"])
    return {k: v for k, v in schema.items() if k in annotated}, [k for k in schema if k not in annotated]


def rare_entity_types(schema: dict[str, dict], train: list[Document], at_most: int = 2,
                      among: int = 50) -> list[str]:
    """A line for each entity type with at most `at_most` training mentions in a task with at
    least `among`: a tag typo (B-PRE for B-PER) makes a type of its own, which then trains on
    next to nothing."""
    lines = []
    for name, spec in schema.items():
        if spec.get("kind") != "ner":
            continue
        counts = Counter(span.label for doc in train for span in doc.spans.get(name, []))
        for label, count in sorted(counts.items()):
            if count <= at_most and sum(counts.values()) >= among:
                first = next(doc.source for doc in train if any(s.label == label for s in doc.spans.get(name, [])))
                usual = ", ".join(f"{l} {n}" for l, n in counts.most_common(4))
                lines.append(f"entity type {label!r} of task {name!r} has {count} training mention(s), against "
                             f"{usual}: a typo in a tag? The first is in the document at {first}")
    return lines


def source_files(sources: list[Source]) -> list:
    """What each source reads: its path (or dataset in memory) and a pairs file's bodies."""
    return [f for s in sources for f in (s.path, s.options.get("bodies")) if f is not None]


def input_files(config: TrainConfig) -> list[str]:
    """The files a run reads: every split's (with a pairs file's bodies) and the schema."""
    files = source_files([s for split in SPLITS for s in as_sources(getattr(config, split), split)])
    return [str(f) for f in files if isinstance(f, (str, Path))] + ([str(config.schema)] if config.schema else [])


def overlaps(config: TrainConfig, data: RunData) -> list[str]:
    """A line for each file given twice (within a split or across splits), for training documents
    that repeat one another, for dev or test documents that are also training documents (figures
    on them are not held out), and for records of one file that share an id. Texts that differ
    only in white space are the same text."""
    lines, seen = [], {}
    for split in SPLITS:
        for source in as_sources(getattr(config, split), split):
            if isinstance(source.path, (str, Path)):   # read twice the same way in one split, or in two splits
                real = os.path.realpath(source.path)
                reading = (source.resolved_format, repr(sorted(source.options.items())))
                for earlier_split, earlier_reading in seen.get(real, []):
                    if earlier_split != split or earlier_reading == reading:
                        where = f"in {split} data" if earlier_split == split else f"as {earlier_split} and {split} data"
                        lines.append(f"{source.path} is given twice, {where}")
                        break
                seen.setdefault(real, []).append((split, reading))
    # A copy weighs twice, and one annotated differently teaches both readings.
    lines += repeated_texts(data.train, "training document(s)")
    trained = {_same_text(doc) for doc in data.train}
    for split in ("dev", "test"):
        docs = getattr(data, split) or []
        again = sum(_same_text(doc) in trained for doc in docs)
        if again:
            lines.append(f"{again} of the {len(docs)} {split} documents are also training documents (the same text): "
                         f"{split} figures on them are not held out")
    return lines + repeated_ids([doc for split in SPLITS for doc in getattr(data, split) or []])


def repeated_texts(docs: list[Document], what: str, says: str = "") -> list[str]:
    """A line when documents of `docs` repeat an earlier one's text for a task both annotate, saying how
    many are annotated differently; one text read for two tasks (two columns of one table) is no
    repeat: each task has it once. `what` names the documents, `says` what a repeat does to them."""
    by_text, repeats, differ = defaultdict(list), [], 0   # repeats: pairs of documents
    for doc in docs:
        earlier = by_text[_same_text(doc)]
        for other in earlier:
            shared = annotated_tasks([other]) & annotated_tasks([doc])
            if shared:
                repeats.append((other, doc))
                differ += any(_annotation(other, t) != _annotation(doc, t) for t in shared)
                break
        earlier.append(doc)
    if not repeats:   # (the training documents may be shuffled by a hold-out: a pair, not an order)
        return []
    return [f"{len(repeats)} {what} repeat another one's text, {differ} of them annotated differently (e.g. "
            f"{repeats[0][0].source} and {repeats[0][1].source}){says}"]


def repeated_ids(docs: list[Document]) -> list[str]:
    """A line when records of one file share an `id` (a record given twice, or an id given to two
    records): training ignores ids and reads both."""
    by_id = defaultdict(dict)   # (file, id) -> {place: source} (one file given twice reads a place twice)
    for doc in docs:
        # "file:line", as the readers that give ids write it, or "file: record n (id ...)", a JSON list's record
        place = _RECORD_PLACE.fullmatch(doc.source)
        if doc.id is not None and place:
            by_id[place["file"], doc.id][int(place["line"] or place["record"])] = doc.source
    repeats = {key: [places[n] for n in sorted(places)] for key, places in by_id.items() if len(places) > 1}
    if not repeats:
        return []
    (_, first), sources = next(iter(repeats.items()))
    return [f"{sum(len(sources) - 1 for sources in repeats.values())} record(s) repeat an earlier record's id in the "
            f"same file (first: id {first!r} at {sources[0]} and {sources[1]}): both are read"]


_RECORD_PLACE = re.compile(r"(?P<file>.*)(?::(?P<line>\d+)|: record (?P<record>\d+)(?: \(id .*\))?)", re.DOTALL)


def _same_text(doc: Document) -> tuple:
    """What two copies of one document share (one exported again, one with a trailing new line)."""
    return " ".join(doc.text.split()), doc.text_pair and " ".join(doc.text_pair.split())


def _annotation(doc: Document, task: str) -> frozenset:
    """What `doc` says for `task`, in no order: labels or spans listed otherwise say the same, and
    spans by what they mark, not by offsets that white space before them shifts."""
    if task not in doc.spans:
        return frozenset(doc.labels.get(task, ()))
    visible_before = list(accumulate((not c.isspace() for c in doc.text), initial=0))   # for every span at once
    return frozenset((visible_before[s.start], "".join(doc.text[s.start:s.end].split()), s.label)
                     for s in doc.spans[task])


def unreadable(docs: list[Document], what: str) -> list[str]:
    """A line when documents of `docs` have no letter or digit (emoji alone, say): predict gives
    such a text nothing, so its labels are never predicted (and emoji alone are never trained on)."""
    found = [doc for doc in docs if not any(map(has_letter_or_digit, (doc.text, doc.text_pair or "")))]
    return [f"{len(found)} document(s) of the {what} have no letter or digit (first: {found[0].source} "
            f"{found[0].text[:40]!r}): predict gives such a text no label or entity"] if found else []


def document_warnings(docs: list[Document], what: str) -> list[str]:
    """The lines of unreadable, spans_inside_words and spans_across_lines."""
    return unreadable(docs, what) + spans_inside_words(docs, what) + spans_across_lines(docs, what)


def spans_inside_words(docs: list[Document], what: str) -> list[str]:
    """A line when entity spans of `docs` start or end inside a word (between two cased letters or
    digits: byte offsets, or an end off by one): each is read as the whole words it touches."""
    return _odd_spans(docs, lambda text, span: _joined(text, span.start) or _joined(text, span.end),
                      f"of the {what} start or end inside a word, and are read as the whole words they touch",
                      "do the offsets count characters?")


def spans_across_lines(docs: list[Document], what: str) -> list[str]:
    """A line when entity spans of `docs` cross a line break, which no predicted entity does (each
    line is decoded on its own): scored, each is a miss."""
    return _odd_spans(docs, lambda text, span: len(text[span.start:span.end].strip().splitlines()) > 1,
                      f"of the {what} cross a line break", "predict decodes each line on its own, and never gives one")


def _odd_spans(docs: list[Document], odd, says: str, advice: str) -> list[str]:
    """One line for the entity spans of `docs` that `odd(text, span)`, naming the first."""
    found = [(doc, span) for doc in docs for spans in doc.spans.values() for span in spans if odd(doc.text, span)]
    if not found:
        return []
    doc, span = found[0]
    return [f"{len(found)} entity span(s) {says} (first: {doc.source} {doc.text[span.start:span.end]!r}): {advice}"]


def _joined(text: str, i: int) -> bool:
    """Whether offset `i` falls between two characters of one word (scripts written without
    spaces between words, such as Chinese, have no such place)."""
    def part(c: str) -> bool:
        return c.isdigit() or c.isupper() or c.islower()
    return 0 < i < len(text) and part(text[i - 1]) and part(text[i])


def labels_without_examples(schema: dict[str, dict], docs: list[Document], dev: bool = False) -> list[str]:
    """A line for each label of the schema that no document has (an entity type no span bears, a
    topic no document): in training its scores are only lowered (a row --init-from kept is
    unlearnt); in dev (of a task dev annotates) dev figures count every prediction of it wrong (a
    type the older dev set of an `--init-from` run predates)."""
    lines = []
    on_dev = annotated_tasks(docs) if dev else set()
    for name, spec in schema.items():
        if dev and name not in on_dev:   # warned about on its own
            continue
        had = {span.label for doc in docs for span in doc.spans.get(name, [])} if spec["kind"] == "ner" else \
            {label for doc in docs for label in doc.labels.get(name, [])}
        missing = [label for label in spec["labels"] if label not in had]
        if not missing:
            continue
        them = "it" if len(missing) == 1 else "them"
        says = (f"dev figures count every prediction of {them} wrong (and so does the choice of the best epoch, "
                "unless --select-by names another task)") if dev else \
            f"the data never shows {them}, so training only lowers {'its' if len(missing) == 1 else 'their'} scores"
        lines.append(f"task {name!r}: no {'dev' if dev else 'training'} example of {', '.join(map(repr, missing))}: "
                     f"{says}")
    return lines


def predicted_schema(data: RunData) -> dict[str, dict]:
    """The tasks and labels the trained model predicts: those of the run's data, and with
    --init-from the checkpoint's, which stay in the model whether or not the new data has them."""
    if data.checkpoint is None:
        return data.schema
    return merge_schemas(schema_of(data.checkpoint.tasks), data.schema, "the checkpoint", "this run's data")


def labels_differing_in_case(schema: dict[str, dict]) -> list[str]:
    """A line for each set of a task's labels that differ only in case ('Trade' from a CSV beside
    the schema's 'trade') or in white space around them (a checkpoint's 'PER ', which an earlier
    version read as written): two rows of one head, which split the one class's examples."""
    lines = []
    for name, spec in schema.items():
        by_case = defaultdict(list)
        for label in spec["labels"]:   # entity types, for NER
            by_case[label.strip().casefold()].append(label)
        lines += [f"task {name!r}: labels {' and '.join(map(repr, same))} differ only in case or white space around "
                  "them: they are learnt as different classes" for same in by_case.values() if len(same) > 1]
    return lines


def hold_out(items: list, fraction: float, seed: int, what: str = "training document(s)") -> tuple[list, list]:
    """(rest, held out): a seeded shuffle, the first `fraction` of it (at least one) held out;
    refused where that leaves nothing to train on (fraction is below 1)."""
    if len(items) < 2:
        raise DataError([f"dev_fraction {fraction}: {len(items)} {what} cannot be split into training "
                         "and dev documents; give --dev, or more data"])
    shuffled = items[:]
    random.Random(seed).shuffle(shuffled)
    cut = max(1, int(len(shuffled) * fraction))
    return shuffled[cut:], shuffled[:cut]


def hold_out_documents(docs: list[Document], fraction: float, seed: int) -> tuple[list, list]:
    """hold_out of the training documents; pairs are held out by their second text (a body and all
    its headlines), so that dev scores bodies never trained on, as new articles are. Documents
    without a pair are held out one by one."""
    if not any(doc.text_pair for doc in docs):
        return hold_out(docs, fraction, seed)
    groups = defaultdict(list)   # a body's documents, in file order; a document without a pair alone
    for i, doc in enumerate(docs):
        groups[_same_text(doc)[1] if doc.text_pair else i].append(doc)
    rest, held = hold_out(list(groups.values()), fraction, seed, "training document(s) or second texts of pairs")
    return [doc for group in rest for doc in group], [doc for group in held for doc in group]

