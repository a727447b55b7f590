"""Where a run's documents come from: a file, its format and the reader's options.

Formats: `news` (JSON lines of data/README.md), `conll`, `classification` (CSV / JSON lines or a JSON list),
`pairs` (FNC-1 style stances + bodies), `label-studio`, `doccano`, `hf` (a Hugging Face dataset:
a `save_to_disk` folder, Parquet files, or a `datasets.Dataset` in memory). `auto` picks by
extension: .jsonl -> news (doccano where its first record with spans has Doccano's), .json ->
label-studio if it opens a JSON list (doccano where its first record with labels or spans has
Doccano's, classification where it has "text" and one "label" string or number; else as .jsonl), .csv/.tsv -> classification, .parquet,
a folder of them or a `save_to_disk` folder (of a Dataset or a DatasetDict) -> hf,
.conll/.txt/no extension -> conll.
"""
from __future__ import annotations

import inspect
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import DataError, Document
from .readers._files import BETWEEN_ITEMS, JSON_ERRORS, json_line, opens_a_list, opens_as_json
from .readers.annotation_tools import doccano_label_key
from .readers.hf_datasets import in_memory_name, is_missing_split, parquet_files
from .schema import task_name_error
from .readers import read_jsonl
from .readers import read_classification, read_conll, read_doccano, read_hf, read_label_studio, read_pairs_joined

READERS = {
    "conll": read_conll,
    "classification": read_classification,
    "pairs": lambda path, bodies, **kw: read_pairs_joined(path, bodies, **kw),
    "label-studio": read_label_studio,
    "doccano": read_doccano,
    "hf": read_hf,
}
FORMATS = ("auto", "news", *READERS)
# Keyword arguments the readers take: (type, help), as the command line offers them.
READER_OPTIONS = {
    "task": (str, "task name the reader assigns (default: conll entities, classification label, pairs stance, "
                  "hf entities for NER data, else label)"),
    "label_task": (str, "doccano: the task its document labels (cats, or label holding names) train, e.g. topic "
                        "(default: label)"),
    "text_field": (str, "classification, hf: text column (classification: column(s), e.g. text or title+text; "
                        "default: text; pairs: Headline)"),
    "text_key": (str, "label-studio: the key of each task's data holding the text (default: text)"),
    "label_field": (str, "classification, hf: label column (default: label; pairs: Stance; hf data with tokens and "
                         "tags columns is NER unless it has this column)"),
    "pair_field": (str, "classification, hf: second text column of a text pair (default: none)"),
    "multi": (bool, "classification, hf: multi-label (default: single-label; hf: as the dataset's label "
                    "feature says)"),
    "skip_empty": (bool, "classification: leave out records with no text (default: such a record refuses the file)"),
    "delimiter": (str, "classification: separator of several labels in one cell (default: none)"),
    "quotes_as_text": (bool, "classification: quotes in CSV/TSV cells are text, not quoting (a cell then holds no "
                             "separator or line break; default: quoting, as in CSV)"),
    "bodies": (str, "pairs: the bodies file the stances files join to (pairs needs it; default: none)"),
    "scheme": (str, "conll, hf: tag scheme: auto, IOB1, IOB2 or BIO, BIOES or BILOU (default: auto, from the tags)"),
    "tokens_field": (str, "hf: token-list column of NER data (default: tokens)"),
    "tags_field": (str, "hf: tag-list column of NER data (default: ner_tags)"),
}


@dataclass
class Source:
    path: str                 # a file or folder; or a datasets.Dataset (format hf)
    format: str = "auto"
    options: dict = field(default_factory=dict)   # keyword arguments of the format's reader

    def __post_init__(self):
        where = in_memory_name(self.path) if hasattr(self.path, "_fingerprint") else self.path
        if self.format not in FORMATS:
            raise ValueError(f"{where}: unknown format {self.format!r} (known: {', '.join(FORMATS)})")
        if not isinstance(self.path, (str, Path)) and not hasattr(self.path, "_fingerprint"):   # nor a Dataset
            raise ValueError(f"path: {self.path!r} is not a file or folder name")
        if not isinstance(self.path, (str, Path)) and self.format not in ("auto", "hf"):   # its reader would open() it
            raise ValueError(f"{where}: a dataset in memory is read by the hf reader, not {self.format}: give format "
                             "hf, or leave the format out")
        if not isinstance(self.options, dict):
            raise ValueError(f"{where}: reader options must be a table of name = value, not {self.options!r}")
        fmt = self.resolved_format
        known = reader_options(fmt)
        guessed = " (format guessed from the path; give the format if it is another)" \
            if self.format == "auto" and isinstance(self.path, (str, Path)) else ""
        unknown = sorted(set(self.options) - set(known))
        if unknown:
            raise ValueError(f"{where}: the {fmt} reader takes no option(s) {', '.join(unknown)} "
                             f"(it takes: {', '.join(known) or 'none'}){guessed}")
        for name, value in self.options.items():   # a TOML string "false" would otherwise read as on
            if isinstance(known[name], bool) and not isinstance(value, bool):
                raise ValueError(f"{where}: reader option {name}: {value!r} is not true or false")
            if value is None and name not in _optional(fmt) and known[name] is not None:
                raise ValueError(f"{where}: reader option {name}: the {fmt} reader needs a value (leave it out "
                                 f"for its default, {known[name]!r})")
            if READER_OPTIONS.get(name, (None,))[0] is str and not isinstance(value, (str, Path, type(None))):
                raise ValueError(f"{where}: reader option {name}: {value!r} is not a string")
            if value == "" and name in READER_OPTIONS and name != "bodies":   # `--delimiter ""` would cut no labels, `--label-field ""` read none
                raise ValueError(f"{where}: reader option {name} (flag --{name.replace('_', '-')}): an empty string "
                                 "(an unset shell variable?): give one, or leave it out" +
                                 ("" if known[name] is None else f" for its default, {known[name]!r}"))
            if name == "choice_tasks" and not isinstance(value, (dict, type(None))):
                raise ValueError(f"{where}: reader option choice_tasks: {value!r} is not a table of choice "
                                 f"control = task name")
            # named here, not when the model is made after every file was read
            if name in ("task", "label_task", "ner_task", "choice_tasks") and value is not None:
                for task in value.values() if name == "choice_tasks" else [value]:
                    if problem := "is not a string" if not isinstance(task, str) else task_name_error(task):
                        raise ValueError(f"{where}: reader option {name}: {task!r} {problem}: give another")
        if fmt == "pairs" and self.options.get("bodies") is None:
            raise ValueError(f"{where}: the pairs reader needs the bodies file (option bodies, flag --bodies)")
        if fmt == "pairs" and self.options.get("bodies") == "":   # `--bodies "$UNSET"`: not the working folder
            raise ValueError(f"{where}: reader option bodies: an empty path (an unset shell variable?): give the "
                             "bodies file")

    @property
    def resolved_format(self) -> str:
        return resolve_format(self.path, self.format)

    @property
    def multi(self) -> bool:
        return bool(self.options.get("multi"))


def resolve_format(path, fmt: str = "auto") -> str:
    """The format a path is read as: `fmt`, or for auto the one its extension names."""
    if fmt != "auto":
        return fmt
    if not isinstance(path, (str, Path)):
        return "hf"
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json" and opens_a_list(path):   # Label Studio, Doccano and pandas write one JSON list; news is lines
        return _list_format(path)
    if suffix in (".jsonl", ".json"):
        return "doccano" if _has_doccano_spans(path) else "news"
    if suffix in (".csv", ".tsv"):
        return "classification"
    if suffix == ".parquet" or (path / "state.json").is_file() or (path / "dataset_dict.json").is_file() \
            or (path.is_dir() and parquet_files(path)):   # save_to_disk of a Dataset or a DatasetDict
        return "hf"
    if is_missing_split(path):   # its reader names the splits there are
        return "hf"
    return "conll"


def _has_doccano_spans(path: Path) -> bool:
    """Whether the first record with spans holds them as only Doccano writes them (_doccano_spans).
    Records with none (Doccano lists unlabelled examples too, as "label": []) decide nothing."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            for line in f:
                try:
                    record = json.loads(json_line(line))
                except JSON_ERRORS:   # blank or broken: its reader says so
                    continue
                if (doccano := _doccano_spans(record)) is not None:
                    return doccano
    except (OSError, UnicodeDecodeError):   # missing or unreadable: its reader says so
        pass
    return False


def _doccano_spans(record) -> bool | None:
    """Whether a record's spans are as only Doccano writes them: "label" ("labels" up to Doccano 1.2) or
    "entities" as [start, end, type] triples, or "entities" with start_offset; None where it has none. (A
    news task may be named "label"; its value is never a triple.)"""
    triples = record.get(doccano_label_key(record)) if isinstance(record, dict) else None
    entities = record.get("entities") if isinstance(record, dict) else None
    if isinstance(triples, list) and any(isinstance(x, list) and len(x) == 3 for x in triples):
        return True
    if isinstance(entities, list) and entities:   # dicts with start_offset, or intent exports' triples
        return any(isinstance(x, dict) and "start_offset" in x or isinstance(x, list) and len(x) == 3
                   for x in entities)
    return None


# What Label Studio's tasks (JSON) and records (JSON_MIN) hold, and no Doccano record
_LABEL_STUDIO_FIELDS = {"annotations", "completions", "predictions", "annotator", "annotation_id", "lead_time"}


def _list_format(path: Path) -> str:
    """The format of a file holding a JSON list, as its first record that tells says (_list_record_format):
    a Doccano JSON export, classification records or a Label Studio export; where none tells, doccano
    where a record holds Doccano's empty "label" ("labels" up to Doccano 1.2) or "cats" (an export of
    unlabelled texts; not "entities", which a news record has empty too), else label-studio. The file is
    read as far as the first record that decides, not whole: a run looks at a source's format several times."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            text, decoder, at, unlabelled = "", json.JSONDecoder(), None, False
            while True:
                text += (more := f.read(max(len(text), 1 << 16)))   # twice as much each time: linear overall
                if at is None and "[" in text:   # white space of any length before it, as opens_a_list
                    at = text.index("[") + 1
                while at is not None:
                    try:
                        record, end = decoder.raw_decode(text, BETWEEN_ITEMS.match(text, at).end())
                    except json.JSONDecodeError:   # a record going on past what was read, or broken: read on
                        break
                    if end == len(text) and more:   # a number cut at the edge ("1" of "1.5"): read on
                        break
                    at = end
                    if isinstance(record, dict) and (decided := _list_record_format(record)) is not None:
                        return decided
                    unlabelled = unlabelled or isinstance(record, dict) and any(
                        record.get(key) == [] for key in ("label", "labels", "cats"))
                if not more:
                    return "doccano" if unlabelled else "label-studio"
    except (OSError, UnicodeDecodeError, *JSON_ERRORS):   # unreadable: its reader says so
        return "label-studio"


def _list_record_format(record: dict) -> str | None:
    """Whether a record of a JSON list is Label Studio's (it has their fields), Doccano's (its spans, "cats",
    or "label" holding names: no news record comes in a list) or classification's ("text" beside one "label"
    string or number, as pandas' orient="records" writes and neither tool does); None where it holds nothing
    that tells."""
    if _LABEL_STUDIO_FIELDS & set(record) or isinstance(record.get("data"), dict):
        return "label-studio"
    if (doccano := _doccano_spans(record)) is not None:
        return "doccano" if doccano else "label-studio"
    names = record.get(doccano_label_key(record))
    if record.get("cats") or isinstance(names, list) and names and all(isinstance(x, str) for x in names):
        return "doccano"
    if isinstance(record.get("text"), str) and isinstance(record.get("label"), (str, int)) \
            and not isinstance(record["label"], bool):
        return "classification"
    return None


def reader_options(fmt: str) -> dict:
    """The keyword options the reader of a resolved format takes, with their defaults (news: none;
    its schema is the run's)."""
    if fmt == "news":
        return {}
    if fmt == "pairs":   # the stances file is the path; the bodies file is an option
        return {"bodies": None, **_defaults(read_pairs_joined, 2)}
    return {**_defaults(READERS[fmt], 1), **({"multi": False} if fmt == "hf" else {})}   # hf: the data decides


def _optional(fmt: str) -> set[str]:
    """The options the format's reader takes None for (classification's label_field: text only)."""
    reader = read_pairs_joined if fmt == "pairs" else READERS[fmt]
    return {p.name for p in inspect.signature(reader).parameters.values() if "None" in str(p.annotation)}


def _defaults(reader, positional: int) -> dict:
    params = list(inspect.signature(reader).parameters.values())[positional:]
    return {p.name: None if p.default is inspect.Parameter.empty else p.default for p in params}


def read_source(source: Source, schema: dict[str, dict]) -> list[Document]:
    fmt = source.resolved_format
    if fmt == "news":
        return read_jsonl(source.path, schema)
    if fmt == "hf":   # multi-label or not, the dataset's label feature says, unless multi is asked for
        docs, multi = read_hf(source.path, **{k: v for k, v in source.options.items() if k != "multi"})
        # a new table: the caller's, which another run may share, keeps what it gave
        source.options = {**source.options, "multi": multi or bool(source.options.get("multi"))}
        return docs
    try:
        return READERS[fmt](source.path, **source.options)
    except DataError as exc:
        path = Path(source.path)
        listed = fmt in ("doccano", "classification") and path.suffix.lower() == ".json" and opens_a_list(path)
        guess = f"{fmt} list" if listed else fmt
        if guess in _GUESSED_FROM_CONTENT and source.format == "auto":
            other = " (classification: a list of records, as pandas' orient=\"records\" writes)" \
                if fmt == "label-studio" and any(p.endswith("data.text is missing or empty") for p in exc.problems) \
                else ""   # as a list of {text, label} meets; not said of an export's other problems
            raise DataError([f"{source.path}: read as a {_GUESSED_FROM_CONTENT[guess]}; give --format if it is "
                             f"another{other}"] + exc.problems) from None   # first: a long list is cut
        if fmt == "conll" and source.format == "auto" and opens_as_json(Path(source.path)):
            # JSON lines named .ndjson or .txt: else an "unknown tag" of a JSON line's last word alone
            raise DataError([f"{source.path}: read as CoNLL columns, as a file whose extension is none of .jsonl, "
                             ".json, .csv, .tsv or .parquet is, but it opens as JSON does: give --format, or name it "
                             ".jsonl (JSON lines) or .json"] + exc.problems) from None
        raise


_GUESSED_FROM_CONTENT = {"label-studio": "Label Studio export because it holds a JSON list",
                         "classification list": "list of classification records because its first record with a "
                                                "label has \"text\" and one \"label\"",
                         "doccano": "Doccano export because its first record with spans has Doccano's",
                         "doccano list": "Doccano export because its first record with labels or spans has Doccano's"}


def infer_schema(sources_docs: list[tuple[Source, list[Document]]]) -> tuple[dict[str, dict], dict[str, str]]:
    """(tasks and label sets found in documents read by the non-news readers, the document
    where each task was first seen, or for a multi-label one the first with several labels)."""
    schema: dict[str, dict] = {}
    for source, docs in sources_docs:
        for doc in docs:
            for task, spans in doc.spans.items():
                entry = schema.setdefault(task, {"kind": "ner", "labels": [], "source": doc.source})
                if entry["kind"] != "ner":
                    raise ValueError(f"{doc.source}: task {task!r} is ner here but {entry['kind']} at {entry['source']}")
                _add_labels(entry, [s.label for s in spans])
            for task, labels in doc.labels.items():   # several labels on one document make a task multi-label
                if doc.text_pair is not None and len(labels) != 1:   # a pair head is single-label
                    raise ValueError(f"{doc.source}: task {task!r} reads text pairs, which take exactly one label "
                                     f"each, not {labels}")
                kind = "pair" if doc.text_pair is not None else "multi" if source.multi or len(labels) > 1 else "single"
                entry = schema.setdefault(task, {"kind": kind, "labels": [], "source": doc.source})
                if {entry["kind"], kind} == {"single", "multi"}:   # one label a document fits a multi-label task
                    if entry["kind"] == "single":   # named where it became multi-label
                        entry["source"] = doc.source
                    entry["kind"] = "multi"
                elif entry["kind"] != kind:
                    raise ValueError(f"{doc.source}: task {task!r} is {kind} here but {entry['kind']} at "
                                     f"{entry['source']}")
                _add_labels(entry, labels)
    for task, entry in schema.items():   # a Label Studio choice control's name: no reader option, checked as one is
        if problem := task_name_error(task):
            raise ValueError(f"{entry['source']}: task name {task!r} {problem}: give it another (a Label Studio choice "
                             f"control's, by the reader option choice_tasks in a --config file's table, e.g. "
                             f"{{{json.dumps(task)} = \"doc_{task.strip()}\"}})")
    first_seen = {task: entry.pop("source") for task, entry in schema.items()}
    for entry in schema.values():
        entry["labels"].sort()
    return schema, first_seen


def several_labels(sources_docs: list[tuple[Source, list[Document]]]) -> dict[str, tuple[str, int, int]]:
    """Task -> (the first document giving it several labels, how many do, how many annotate it), for
    the tasks no reader was told are multi-label (`multi`): such a document alone makes the task
    multi-label (see infer_schema), and a Doccano or Label Studio export does not say which a task
    is, so one record given two labels by mistake turns a single-label head (softmax, the best
    label) into a multi-label one (sigmoids, thresholds). The counts tell a slip from a project
    that is multi-label."""
    declared = {task for source, docs in sources_docs if source.multi for doc in docs for task in doc.labels}
    first: dict[str, str] = {}
    several, annotated = Counter(), Counter()
    for _, docs in sources_docs:
        for doc in docs:
            for task, labels in doc.labels.items():
                annotated[task] += 1
                if len(labels) > 1 and task not in declared:
                    first.setdefault(task, doc.source or "a document")
                    several[task] += 1
    return {task: (where, several[task], annotated[task]) for task, where in first.items()}


def merge_schemas(first: dict[str, dict], second: dict[str, dict], first_place: str,
                  second_place: str | dict[str, str]) -> dict[str, dict]:
    """Tasks of both; a task in both keeps its kind and gains the second's new labels. The
    second's single-label data fits the first's multi-label task, not the other way round.
    A conflict of kinds names where each side's task comes from (`second_place`: per task)."""
    merged = {name: {"kind": spec["kind"], "labels": list(spec["labels"])} for name, spec in first.items()}
    for name, spec in second.items():
        if name not in merged:
            merged[name] = {"kind": spec["kind"], "labels": list(spec["labels"])}
        elif merged[name]["kind"] != spec["kind"] and (merged[name]["kind"], spec["kind"]) != ("multi", "single"):
            where = second_place[name] if isinstance(second_place, dict) else second_place
            raise ValueError(f"task {name!r} is {spec['kind']} at {where} but {merged[name]['kind']} in {first_place}")
        else:
            _add_labels(merged[name], spec["labels"])
    return merged


def _add_labels(entry: dict, labels) -> None:
    for label in labels:
        if label not in entry["labels"]:
            entry["labels"].append(label)
