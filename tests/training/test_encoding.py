from training.corpus import Document, Span
from training.encoding import IGNORE, collate, document_windows, word_tags
from inference.features import encode


def test_word_tags_follow_character_spans(tokenizer):
    text = "U.S. envoy Anna Lindqvist visited Geneva."
    enc = encode(tokenizer, text)
    tags = word_tags(enc, [Span(0, 4, "LOC"), Span(11, 25, "PER"), Span(34, 40, "LOC")])
    by_word = [(text[s:e], t) for (s, e), t in zip(enc.words, tags)]
    assert by_word[:5] == [("U", "B-LOC"), (".", "I-LOC"), ("S", "I-LOC"), (".", "I-LOC"), ("envoy", "O")]
    assert ("Anna", "B-PER") in by_word and ("Lindqvist", "I-PER") in by_word and ("Geneva", "B-LOC") in by_word


def test_windows_label_each_word_once_and_carry_document_targets(tokenizer, news_tasks):
    text = " ".join(["Officials in Geneva said talks went on."] * 30)
    spans = [Span(i + 13, i + 19, "LOC") for i in range(0, len(text), 40)]
    doc = Document(text, {"entities": spans}, {"topic": ["trade"], "stance": ["neutral"]})
    windows = document_windows(doc, tokenizer, news_tasks, window_length=64, window_overlap=16)
    assert len(windows) > 3
    labelled = sum(sum(t != IGNORE for t in w.token_targets["entities"]) for w in windows)
    assert labelled == len(encode(tokenizer, text).words)
    batch = collate(windows, news_tasks, tokenizer.pad_token_id)
    values, mask = batch["targets"]["topic"]
    assert mask.all() and values[:, news_tasks[1].labels.index("trade")].eq(1).all()
    assert batch["inputs"]["input_ids"].shape[0] == len(windows)


def test_missing_task_gets_no_targets(tokenizer, news_tasks):
    windows = document_windows(Document("Plain text only."), tokenizer, news_tasks, 64, 16)
    batch = collate(windows, news_tasks, tokenizer.pad_token_id)
    assert (batch["targets"]["entities"] == IGNORE).all()
    assert not batch["targets"]["topic"][1].any() and (batch["targets"]["stance"] == IGNORE).all()
