"""NER benchmark: entity micro-F1 on CoNLL-2003 English or re3d, scored by seqeval (strict,
IOB2) on the corpus's own tokens.

    python benchmarks/conll.py --system ours          # train eng.train, select on eng.testa, report eng.testb
    python benchmarks/conll.py --system ours --conllpp ../shared/data/conllpp/conllpp_test.txt
    python benchmarks/conll.py --system hf-recipe
    python benchmarks/conll.py --system spacy
    python benchmarks/conll.py --dataset re3d --system ours --test PATH/re3d-test.conll

Systems:
  ours       training.trainer.train (--epochs, default 6 on CoNLL-2003, 3 on re3d), best epoch by
             dev F1, scored by training.evaluation.evaluate;
             --checkpoint DIR scores an already trained checkpoint instead.
  hf-recipe  Hugging Face run_ner.py's recipe on the same encoder: AutoModelForTokenClassification,
             first-subword labels, AdamW lr 5e-5, batch 16, linear decay, 3 epochs, one sentence
             at a time, no model selection.
  spacy      spaCy 3 CNN NER from `spacy init config --lang en --pipeline ner --optimize
             efficiency`, trained on the same tokens (gold_preproc) for --epochs (default 20),
             model-best by dev F1.
re3d has no dev file: 10% of its training documents are held out (seeded), for every system.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import common

SYSTEMS = ["ours", "hf-recipe", "spacy"]
RECIPES = {"conll2003": {"epochs": 6}, "re3d": {"epochs": 3}}   # ours: the trainer's defaults otherwise
TASK = "entities"
DOCSTART = "-DOCSTART-"
MAX_LENGTH = 512   # hf-recipe: a CoNLL sentence never comes near it; past it words are tagged O


def conll_blocks(path: str) -> list[list[str]]:
    """The file's documents as lines (each -DOCSTART- starts one); its sentences when it has none,
    as read_conll counts documents (standins.py cuts its stand-in splits by them)."""
    from training.readers._files import read_lines   # here: importing training loads torch
    from training.readers.conll import unmarked
    # bytes that are not UTF-8: a DataError naming the line; a byte-order mark inside a joined file, as read_conll drops it;
    # lines as read_conll splits them (a token holding U+2028, \x0c or \x85 stays whole, as str.splitlines cuts it)
    lines = [unmarked(line) for line in read_lines(Path(path))]
    if lines and not lines[-1]:
        lines.pop()   # the file's last line break ends its last line, it starts none
    blocks: list[list[str]] = []
    if any(line.startswith(DOCSTART) for line in lines):
        for line in lines:
            if line.startswith(DOCSTART) or not blocks:
                blocks.append([])
            blocks[-1].append(line)
    else:
        current: list[str] = []
        for line in lines + [""]:
            if line.strip():
                current.append(line)
            elif current:
                blocks.append(current + [""])
                current = []
    return [b for b in blocks if any(line.strip() and not line.startswith(DOCSTART) for line in b)]


def write_blocks(blocks: list[list[str]], path: Path) -> str:
    path.write_text("\n".join(line for b in blocks for line in b) + "\n", encoding="utf-8")
    return str(path)


def write_docs(docs, path: Path) -> str:
    """Documents as read_conll reads them back: a -DOCSTART- line before each, then a token and its
    IOB2 tag a line, a blank line after each sentence."""
    from training.targets import spans_to_tags, word_spans
    lines = []
    for doc in docs:
        tags = spans_to_tags(len(doc.tokens), word_spans(doc.tokens, doc.spans[TASK]))
        lines += [f"{DOCSTART}\tO", ""]
        for first, end in sentence_ranges(doc):
            lines += [f"{doc.text[s:e]}\t{tag}" for (s, e), tag in zip(doc.tokens[first:end], tags[first:end])] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def prepare(args, tmp: Path) -> dict[str, str]:
    """The files every system reads: each split cut to --limit documents (and --max-train-docs /
    --max-dev-docs), re3d's dev held out. A file that is cut is read once, by the reader, so that a
    problem is named at its line in the user's file, and the cut copy holds what it read."""
    from training.readers import read_conll

    def cut(path, name, most=None):
        if not (args.limit or most):
            return path
        return write_docs(common.sample(common.head(read_conll(path, task=TASK), args.limit), most, args.seed), tmp / name)

    if args.dataset == "conll2003":
        files = {"train": cut(args.train, "train", args.max_train_docs), "dev": cut(args.dev, "dev", args.max_dev_docs)}
    else:
        docs = common.head(read_conll(args.train, task=TASK), args.limit)
        train, dev = common.holdout(docs, common.DEV_FRACTION, args.seed)
        train, dev = common.sample(train, args.max_train_docs, args.seed), common.sample(dev, args.max_dev_docs, args.seed)
        files = {"train": write_docs(train, tmp / "train"), "dev": write_docs(dev, tmp / "dev")}
    files["test"] = cut(args.test, "test")
    if args.conllpp:
        files["conllpp"] = cut(args.conllpp, "conllpp")
    return files


def sentence_ranges(doc) -> list[tuple[int, int]]:
    """(first, end) token indices of each sentence of a document read by read_conll, which ends
    each sentence with a newline."""
    ends = [i + 1 for i, (_, end) in enumerate(doc.tokens[:-1]) if doc.text[end] == "\n"] + [len(doc.tokens)]
    return list(zip([0] + ends[:-1], ends)) if doc.tokens else []


def sentences(docs) -> list[tuple[list[str], list[str]]]:
    """(tokens, gold IOB2 tags) of every sentence."""
    from training.targets import spans_to_tags, word_spans
    out = []
    for doc in docs:
        words = [doc.text[s:e] for s, e in doc.tokens]
        tags = spans_to_tags(len(words), word_spans(doc.tokens, doc.spans[TASK]))
        out += [(words[first:end], tags[first:end]) for first, end in sentence_ranges(doc)]
    return out


def hf_recipe(args, train, dev, tmp):
    """(tagger, train seconds) for run_ner.py's recipe, in a plain loop (the Trainer would need
    accelerate and changes nothing here: AdamW, no warm-up, linear decay, clip 1.0)."""
    import torch
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              get_linear_schedule_with_warmup)
    from inference.devices import autocast, resolve_device
    labels = sorted({t for _, tags in train for t in tags})   # run_ner.py sorts its label list too
    base = common.base_model(args)
    device = resolve_device(args.device)
    tokenizer = AutoTokenizer.from_pretrained(base)
    torch.manual_seed(args.seed)
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
    ).to(device)
    features = first_subword_features(tokenizer, train, labels)
    collator = DataCollatorForTokenClassification(tokenizer)
    batch_size, epochs = 16, args.epochs or 3
    total = math.ceil(len(features) / batch_size) * epochs
    total = min(total, args.max_steps) if args.max_steps else total
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, total)
    rng, step = random.Random(args.seed), 0
    with common.Stopwatch() as clock:
        model.train()
        while step < total:
            order = list(range(len(features)))
            rng.shuffle(order)
            for b in range(0, len(order), batch_size):
                batch = collator([features[i] for i in order[b:b + batch_size]])
                with autocast(device):
                    loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                step += 1
                if step >= total:
                    break
    model.eval()
    return (lambda sents: first_subword_tags(model, tokenizer, labels, sents, device)), clock.seconds


def first_subword_features(tokenizer, sents, labels: list[str]) -> list[dict]:
    """run_ner.py's features: each word's label on its first subword; the rest are ignored."""
    features = []
    for words, tags in sents:
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=MAX_LENGTH)
        ids, previous = [], None
        for w in enc.word_ids():
            ids.append(-100 if w is None or w == previous else labels.index(tags[w]))
            previous = w
        features.append({**enc, "labels": ids})
    return features


def first_subword_tags(model, tokenizer, labels: list[str], sents: list[list[str]], device) -> list[list[str]]:
    """Each word's tag: the argmax at its first subword, sentences batched 32 at a time by length."""
    import torch
    from inference.devices import autocast
    out = [None] * len(sents)
    order = sorted(range(len(sents)), key=lambda i: len(sents[i]))   # less padding, as ours batches by length
    with torch.inference_mode():
        for b in range(0, len(order), 32):
            idx = order[b:b + 32]
            enc = tokenizer([sents[i] for i in idx], is_split_into_words=True, truncation=True,
                            max_length=MAX_LENGTH, padding=True, return_tensors="pt")
            with autocast(device):
                best = model(**{k: v.to(device) for k, v in enc.items()}).logits.argmax(-1).cpu()
            for row, i in enumerate(idx):
                tags, seen = ["O"] * len(sents[i]), set()
                for pos, w in enumerate(enc.word_ids(row)):
                    if w is not None and w not in seen:   # the first subword speaks for the word
                        seen.add(w)
                        tags[w] = labels[int(best[row, pos])]
                out[i] = tags
    return out


def spacy_ner(args, train, dev, tmp: Path):
    """(tagger, train seconds) for spaCy 3's efficiency NER trained with spaCy's own train()."""
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.cli.train import train as spacy_train
    from spacy.tokens import Doc, DocBin
    vocab = spacy.blank("en").vocab
    for name, sents in (("train", train), ("dev", dev)):
        DocBin(docs=[Doc(vocab, words=w, ents=t) for w, t in sents]).to_disk(tmp / f"{name}.spacy")
    config = init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False)
    config.to_disk(tmp / "spacy.cfg")
    overrides = {"paths.train": str(tmp / "train.spacy"), "paths.dev": str(tmp / "dev.spacy"),
                 "system.seed": args.seed, "training.max_epochs": args.epochs or 20,
                 # train on the corpus's tokens, as every system is scored on them
                 "corpora.train.gold_preproc": True, "corpora.dev.gold_preproc": True}
    if args.max_steps:
        overrides["training.max_steps"] = args.max_steps
    with common.Stopwatch() as clock:
        spacy_train(tmp / "spacy.cfg", tmp / "spacy", use_gpu=-1, overrides=overrides)
    best = tmp / "spacy" / "model-best"
    nlp = spacy.load(best if best.exists() else tmp / "spacy" / "model-last")

    def tag(sents: list[list[str]]) -> list[list[str]]:
        docs = nlp.pipe((Doc(nlp.vocab, words=w) for w in sents), batch_size=256)
        return [[f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in d] for d in docs]

    return tag, clock.seconds


def summary(m: dict, prefix: str = "") -> dict:
    out = {f"{prefix}{k}": m[k] for k in ("precision", "recall", "f1", *common.CALIBRATION) if k in m}
    if not prefix:
        out["per_type_f1"] = {t: r["f1"] for t, r in m["per_type"].items()}
    return out


def run(args) -> dict:
    from training.metrics import entity_metrics
    from training.readers import read_conll
    with common.cut_files_folder(args, args.dataset) as tmp:
        files = prepare(args, tmp)
        docs = {split: read_conll(path, task=TASK) for split, path in files.items()}
        common.refuse_labels_the_checkpoint_lacks(args, docs, TASK)
        if args.system == "ours":
            from training.evaluation import evaluate
            model, train_seconds = common.train_ours(
                args, args.dataset, RECIPES[args.dataset], train={"path": files["train"], "format": "conll"},
                dev={"path": files["dev"], "format": "conll"})

            def score(split):
                with common.Stopwatch() as clock:
                    m = evaluate(model, docs[split])[TASK]
                return m, common.count_words(d.text for d in docs[split]), clock.seconds
        else:
            fit = hf_recipe if args.system == "hf-recipe" else spacy_ner
            tagger, train_seconds = fit(args, sentences(docs["train"]), sentences(docs["dev"]), Path(tmp))

            def score(split):
                sents = sentences(docs[split])
                with common.Stopwatch() as clock:
                    predicted = tagger([w for w, _ in sents])
                return entity_metrics([t for _, t in sents], predicted), sum(len(w) for w, _ in sents), clock.seconds

        test, words, seconds = score("test")
        result = {"benchmark": args.dataset, "system": args.system, "split": Path(args.test).name, **summary(test)}
        result.update(summary(score("dev")[0], "dev_"))
        if args.conllpp:
            result.update(summary(score("conllpp")[0], "conllpp_"))
        result.update(common.run_figures(docs, words, train_seconds, seconds))
    return result


def main() -> None:
    p = common.parser(__doc__, SYSTEMS, document_heads=False)
    p.add_argument("--dataset", choices=["conll2003", "re3d"], default="conll2003")
    p.add_argument("--train", help="default: conll2003/eng.train or re3d/re3d-train.conll under ../shared/data")
    p.add_argument("--dev", help="conll2003 only (default: eng.testa); re3d holds out 10%% of --train")
    p.add_argument("--test", help="default: conll2003/eng.testb; required for re3d")
    p.add_argument("--conllpp", help="also report this CoNLL++ test file (conllpp_test.txt)")
    args = common.parse_args(p)
    data = common.DATA
    if args.dataset == "conll2003":
        args.train = args.train or str(data / "conll2003" / "eng.train")
        args.dev = args.dev or str(data / "conll2003" / "eng.testa")
        args.test = args.test or str(data / "conll2003" / "eng.testb")
    else:
        args.train = args.train or str(data / "re3d" / "re3d-train.conll")
        if args.dev:
            p.error("re3d has no dev file: its dev set is 10% of --train")
        if not args.test:
            p.error("re3d: --test PATH is required (the test portion is not in ../shared/data)")
    common.main(run, args, TASK, args.dataset, RECIPES[args.dataset])


if __name__ == "__main__":
    main()
