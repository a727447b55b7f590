"""Read Hugging Face datasets: a `save_to_disk` folder, Parquet files, or a `datasets.Dataset`.

NER rows are token lists with tag lists (`tokens` + `ner_tags`, tag names from the column's
`ClassLabel` feature, or tag strings), decoded as the CoNLL reader decodes tags (IOB1, IOB2,
BIOES; an entity of tokens the encoder does not read is refused); every row is a document.
Classification rows are a text, a label (a `ClassLabel` id or a string; a list of them for
multi-label data) and, for text pairs, a second text. Problems
are reported as `file:row: reason`, rows counted from 0 as `dataset[row]` counts them.
"""
from __future__ import annotations

import re
from pathlib import Path

from training.corpus import DataError, Document
from training.readers._files import finish, label_list
from training.readers.conll import SCHEMES, decode_tagged

NER_COLUMNS = ("tokens", "ner_tags")
SPLIT_NAMES = {"train", "validation", "valid", "dev", "test"}   # as the Hub names a split's Parquet files


def in_memory_name(dataset) -> str:
    """How messages name a `datasets.Dataset` given in memory (its repr runs over several lines)."""
    return f"<dataset {dataset._fingerprint}>"


RECORDED = re.compile(r"<datasets\.Dataset (\S+)>")   # what recorded_name writes, read back by the model card


def recorded_name(dataset) -> str:
    """How a run's config and manifest record a `datasets.Dataset` given in memory: by fingerprint."""
    return f"<datasets.Dataset {dataset._fingerprint}>"


def load_dataset(source) -> tuple[object, str]:
    """(dataset, name used in messages) of a `datasets.Dataset`, a `save_to_disk` folder or a
    Parquet file (or a folder of them)."""
    import datasets
    if isinstance(source, datasets.Dataset):   # rows as Python objects, whatever set_format the user applied
        return source.with_format(None), in_memory_name(source)
    path = Path(source)
    if is_missing_split(path):   # dev where the dataset has validation
        raise DataError([f"{path}: the DatasetDict folder {path.parent} has no split {path.name!r} (it has: "
                         f"{', '.join(splits_of(path.parent))})"])
    if not path.exists():
        raise DataError([f"{path}: no such file or folder"])
    if (path / "dataset_dict.json").is_file():
        splits = splits_of(path)
        example = path / ("train" if "train" in splits or not splits else splits[0])
        raise DataError([f"{path}: a DatasetDict folder; give one of its splits ({', '.join(splits)}), e.g. {example}"])
    if (path / "state.json").is_file():   # save_to_disk keeps a set_format: rows as Python objects all the same
        return _loaded(path, lambda: datasets.load_from_disk(str(path)).with_format(None)), str(path)
    if path.suffix.lower() == ".arrow" and path.is_file():   # a data file of a save_to_disk folder or of datasets' cache
        raise DataError([f"{path}: an Arrow data file; give its save_to_disk folder" + (
            f", {path.parent}" if (path.parent / "state.json").is_file() else
            " (dataset.save_to_disk(folder) writes one; this file's has no state.json)")])
    files = parquet_files(path) if path.is_dir() else [path]
    if not files or any(f.suffix.lower() != ".parquet" for f in files):
        raise DataError([f"{path}: neither a save_to_disk folder nor Parquet files"])
    split_of = lambda f: f.name.split("-")[0].split(".")[0].lower()   # TRAIN.PARQUET too
    splits = sorted({split_of(f) for f in files} & SPLIT_NAMES)
    if len(splits) > 1:   # the Hub's data/ layout: reading them all would train on the test split
        example = next(f for f in files if split_of(f) == ("train" if "train" in splits else splits[0]))
        raise DataError([f"{path}: Parquet files of several splits ({', '.join(splits)}); give the files of one, "
                         f"e.g. {example}"])
    return _loaded(path, lambda: datasets.Dataset.from_parquet([str(f) for f in files])), str(path)


def is_missing_split(path: Path) -> bool:
    """Whether `path` names a split that its DatasetDict's save_to_disk folder lacks."""
    return not path.exists() and (path.parent / "dataset_dict.json").is_file()


def splits_of(folder: Path) -> list[str]:
    """The splits a DatasetDict's save_to_disk folder holds, each a folder of its own."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def parquet_files(folder: Path) -> list[Path]:
    """The Parquet files in `folder`, their suffix in any case (TRAIN.PARQUET) as a single file's is judged
    (glob's case_sensitive is Python 3.12's)."""
    return sorted(folder.glob("*.[Pp][Aa][Rr][Qq][Uu][Ee][Tt]"))


def _loaded(path: Path, load):
    """load(), or a DataError that names `path`: datasets' and Arrow's errors name no file, and
    would stop the checks of a run's other files."""
    import datasets
    try:
        return load()
    except IndexError:   # save_to_disk writes an empty dataset without a data file, then cannot read it back
        raise DataError([f"{path}: no records"]) from None
    except (ValueError, datasets.exceptions.DatasetsError) as exc:   # ValueError: Arrow's and JSON's errors too
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""   # "An error occurred while generating the dataset"
        raise DataError([f"{path}: not a readable Hugging Face dataset: {exc}{cause}"]) from None


def read_hf(source, task: str | None = None, text_field: str = "text", label_field: str | None = None,
            pair_field: str | None = None, tokens_field: str = NER_COLUMNS[0], tags_field: str = NER_COLUMNS[1],
            scheme: str = "auto") -> tuple[list[Document], bool]:
    """(documents, multi-label?). A dataset with `tokens_field` and `tags_field` columns is read
    as NER (task default "entities") unless it also has a `label_field` column asked for; anything
    else as classification (task default "label", label column default "label"). (A label_field
    the dataset lacks leaves NER data NER: one flag goes to each file of a run that takes it.)"""
    dataset, where = load_dataset(source)
    columns = dataset.column_names
    if tokens_field in columns and tags_field in columns and label_field not in columns:
        return _ner(dataset, where, task or "entities", tokens_field, tags_field, scheme), False
    label_field = label_field or "label"
    missing = [f for f in (text_field, label_field, pair_field) if f and f not in columns]
    if missing:
        raise DataError([f"{where}: no column {', '.join(map(repr, missing))} (columns: {', '.join(columns)}); "
                         f"NER data needs {tokens_field!r} and {tags_field!r} (--tokens-field and --tags-field name "
                         "other columns, as --text-field and --label-field do for labelled text)"])
    return _classification(dataset, where, task or "label", text_field, label_field, pair_field)


def _names(feature) -> list[str] | None:
    """The label names of a ClassLabel feature (or of a sequence of them), else None."""
    inner = getattr(feature, "feature", feature)
    return list(inner.names) if hasattr(inner, "names") else None


def _ner(dataset, where: str, task: str, tokens_field: str, tags_field: str, scheme: str) -> list[Document]:
    if scheme.upper() != "AUTO" and scheme.upper() not in SCHEMES:
        raise ValueError(f"{where}: unknown tag scheme {scheme!r} (known: auto, {', '.join(SCHEMES)})")
    names = _names(dataset.features[tags_field])
    inner = getattr(dataset.features[tags_field], "feature", None)
    if names is None and getattr(inner, "dtype", "").startswith(("int", "uint")):   # ids whose names are elsewhere
        raise DataError([f"{where}: {tags_field!r} holds tag ids without their names (no ClassLabel feature); give "
                         f"the names, e.g. dataset.cast_column({tags_field!r}, datasets.Sequence(datasets.ClassLabel("
                         f"names=[\"O\", \"B-PER\", ...]))), or tag strings"])
    problems, rows = [], []
    for i, row in enumerate(dataset):
        tokens, tags = row[tokens_field], row[tags_field]
        if tokens == ["-DOCSTART-"]:   # the CoNLL files' document marker, kept as a row by some conversions
            continue
        if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) and t.strip() for t in tokens):
            problems.append(f"{where}:{i}: {tokens_field!r} must be a non-empty list of non-blank strings")
            continue
        if not isinstance(tags, list) or len(tags) != len(tokens):
            problems.append(f"{where}:{i}: {len(tags) if isinstance(tags, list) else 'no'} tags for {len(tokens)} tokens")
            continue
        if names is not None:
            bad = [t for t in tags if not isinstance(t, int) or not 0 <= t < len(names)]
            if bad:
                problems.append(f"{where}:{i}: field {tags_field!r}: tag id {bad[0]!r} is not one of the {len(names)} "
                                f"ClassLabel names")
                continue
            tags = [names[t] for t in tags]
        # stripped as a column file's are: an entity's offsets leave out a token's spaces, " B-PER" is B-PER
        rows.append((i, [t.strip() for t in tokens], [str(t).strip() for t in tags]))
    docs = decode_tagged(where, [(i, [list(zip(tokens, tags))]) for i, tokens, tags in rows], task, scheme, problems)
    return finish(where, docs, problems)


def _classification(dataset, where, task, text_field, label_field, pair_field) -> tuple[list[Document], bool]:
    feature = dataset.features[label_field]
    names = _names(feature)
    multi = hasattr(feature, "feature") or type(feature).__name__ in ("Sequence", "List", "LargeList")
    problems, docs = [], []
    for i, row in enumerate(dataset):
        errors = []
        text, pair = row[text_field], row[pair_field] if pair_field else None
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{text_field!r} must be a non-empty string")
        if pair_field and (not isinstance(pair, str) or not pair.strip()):
            errors.append(f"{pair_field!r} must be a non-empty string")
        value = row[label_field]
        bad = []
        if names is not None:   # ClassLabel ids to their names
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if not isinstance(v, int) or not 0 <= v < len(names)]
            if bad:
                unlabelled = " (-1: a row without a label, as in a test split of the Hub)" if bad[0] == -1 else ""
                errors.append(f"field {label_field!r}: label id {bad[0]!r} is not one of the {len(names)} ClassLabel "
                              f"names{unlabelled}")
            else:
                value = [names[v] for v in values] if isinstance(value, list) else names[value]
        # as the classification reader takes them: stripped, each once, strings or whole numbers,
        # and [] a multi-label row no label applies to
        labels = [] if bad else label_list(value, label_field, multi, None, errors)
        if errors:
            problems += [f"{where}:{i}: {e}" for e in errors]
            continue
        docs.append(Document(text, labels={task: labels}, source=f"{where}:{i}", text_pair=pair))
    return finish(where, docs, problems), multi
