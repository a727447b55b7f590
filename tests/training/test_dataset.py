import random

from inference.predictor import NewsModel
from training.corpus import Document, Span
from training.dataset import TrainingSet
from inference.tokenization import encode
from inference.windows import IGNORE


def test_windows_label_each_word_once_and_carry_document_targets(tokenizer, news_tasks):
    text = " ".join(["Officials in Geneva said talks went on."] * 30)
    spans = [Span(i + 13, i + 19, "LOC") for i in range(0, len(text), 40)]
    doc = Document(text, {"entities": spans}, {"topic": ["trade"], "stance": ["neutral"]})
    examples = TrainingSet([doc], tokenizer, news_tasks, window_length=64, window_overlap=16)
    assert len(examples) > 3
    batch = examples.batch(list(range(len(examples))))
    assert int((batch["targets"]["entities"] != IGNORE).sum()) == len(examples.encoded[0].words)
    values, mask = batch["targets"]["topic"]
    assert mask.all() and values[:, news_tasks[1].labels.index("trade")].eq(1).all()
    assert batch["inputs"]["input_ids"].shape[0] == len(examples)


def test_missing_task_gets_no_targets_and_unannotated_documents_are_left_out(tokenizer, news_tasks):
    docs = [Document("Plain text only."), Document("Stance only.", labels={"stance": ["neutral"]})]
    examples = TrainingSet(docs, tokenizer, news_tasks, 64, 16)
    assert len(examples) == 1                  # nothing to learn from the first: no encoder pass for it
    batch = examples.batch([0])
    assert (batch["targets"]["entities"] == IGNORE).all() and not batch["targets"]["topic"][1].any()
    assert (batch["targets"]["stance"] != IGNORE).all()


def test_grouped_order_takes_every_window_once_pads_less_and_repeats_with_the_seed(tokenizer, news_tasks):
    # documents of 1 to 12 sentences: one window each, of many widths
    docs = [Document(" ".join(["Officials in Geneva said talks went on."] * (1 + i % 12)),
                     labels={"stance": ["neutral"]}) for i in range(96)]
    examples = TrainingSet(docs, tokenizer, news_tasks, window_length=256, window_overlap=32)
    widths = [w.width for w in examples.windows]

    def padded(order):
        return sum(max(widths[i] for i in order[b:b + 4]) * len(order[b:b + 4]) for b in range(0, len(order), 4))

    grouped = examples.epoch_order(random.Random(5), 4, group_by_length=True)
    shuffled = examples.epoch_order(random.Random(5), 4, group_by_length=False)
    assert sorted(grouped) == sorted(shuffled) == list(range(len(examples)))
    assert padded(grouped) < 0.9 * padded(shuffled)
    assert grouped == examples.epoch_order(random.Random(5), 4, group_by_length=True)
    assert grouped != examples.epoch_order(random.Random(6), 4, group_by_length=True)
    unchanged = list(range(len(examples)))   # without grouping: the shuffle of earlier versions, so old runs repeat
    random.Random(5).shuffle(unchanged)
    assert shuffled == unchanged
    assert TrainingSet([], tokenizer, news_tasks, 256, 32).epoch_order(random.Random(5), 4, True) == []


def test_training_and_serving_cut_a_text_into_identical_windows(any_tiny_checkpoint, news_tasks):
    model = NewsModel.load(any_tiny_checkpoint, device="cpu")
    text = " ".join(["Negotiators from Russia and the United States met in Geneva on Tuesday."] * 9)
    served = []
    forward = model.model.forward
    model.model.forward = lambda **inputs: served.append(inputs) or forward(**inputs)
    model.predict(text)
    examples = TrainingSet([Document(text, labels={"stance": ["neutral"]})], model.tokenizer, news_tasks,
                           model.manifest.window_length, model.manifest.window_overlap)
    assert len(examples) > 2
    trained = examples.batch(list(range(len(examples))))["inputs"]
    assert sum(len(b["input_ids"]) for b in served) == len(examples)
    # serving sorts windows by length: compare the sets of windows, row by row
    rows = lambda batch: {tuple(batch["input_ids"][r][batch["attention_mask"][r].bool()].tolist()) +
                          tuple(batch["shape_ids"][r].tolist()[:int(batch["attention_mask"][r].sum())]) +
                          tuple(batch["pool_mask"][r].tolist()[:int(batch["attention_mask"][r].sum())])
                          for r in range(len(batch["input_ids"]))}
    assert set().union(*(rows(b) for b in served)) == rows(trained)


def test_recasing_reaches_the_training_windows(e5_tokenizer, news_tasks):
    text = "RUSSIA AND UKRAINE RESUME TALKS\nOfficials of Russia and Ukraine said talks resume."
    doc = Document(text, labels={"stance": ["neutral"]})
    recased = TrainingSet([doc], e5_tokenizer, news_tasks, 64, 16, recase=True).encoded[0]
    assert recased.input_ids == encode(e5_tokenizer, text, recase=True).input_ids
    assert recased.input_ids != TrainingSet([doc], e5_tokenizer, news_tasks, 64, 16).encoded[0].input_ids
