from training.corpus import Document, Span
from training.targets import gold_targets, label_problems
from inference.tokenization import encode
from inference.windows import IGNORE


def test_entity_spans_become_word_tags_on_first_subwords(any_tokenizer, news_tasks):
    text = "U.S. envoy Anna Lindqvist visited Geneva."
    doc = Document(text, {"entities": [Span(0, 4, "LOC"), Span(11, 25, "PER"), Span(34, 40, "LOC")]},
                   {"topic": ["trade", "sanctions"], "stance": ["neutral"]})
    enc = encode(any_tokenizer, text)
    gold = gold_targets(doc, enc, news_tasks)
    tags = news_tasks[0].labels
    by_word = [(text[s:e], tags[gold.subword_tags["entities"][i]]) for (s, e), i in zip(enc.words, enc.first_subwords)]
    assert by_word[:5] == [("U", "B-LOC"), (".", "I-LOC"), ("S", "I-LOC"), (".", "I-LOC"), ("envoy", "O")]
    assert ("Anna", "B-PER") in by_word and ("Lindqvist", "I-PER") in by_word and ("Geneva", "B-LOC") in by_word
    labelled = [i for i, t in enumerate(gold.subword_tags["entities"]) if t != IGNORE]
    assert labelled == enc.first_subwords
    assert gold.entity_spans["entities"][0] == (0, 4, "LOC")
    topic = news_tasks[1].labels
    assert gold.document["topic"] == [float(l in ("trade", "sanctions")) for l in topic]
    assert gold.document["stance"] == news_tasks[2].labels.index("neutral")


def test_unannotated_tasks_have_no_targets(tokenizer, news_tasks):
    gold = gold_targets(Document("Plain text only."), encode(tokenizer, "Plain text only."), news_tasks)
    assert not gold.subword_tags and not gold.entity_spans and not gold.document


def test_labels_the_tasks_do_not_have_are_named_once_each_with_their_documents(news_tasks):
    docs = [Document("Talks in Mosul.", {"entities": [Span(9, 14, "GPE")]}, {"stance": ["hostile"]}, source="a.conll:7")]
    docs += [Document("Talks in Mosul.", {"entities": [Span(9, 14, "GPE")]}, source=f"a.conll:{n}") for n in (9, 11, 13, 15)]
    docs.append(Document("Talks in Geneva.", {"entities": [Span(9, 15, "LOC")]}, {"topic": ["trade"]}, source="a.conll:17"))
    assert label_problems(docs, news_tasks) == [
        "a.conll:7: entities label 'GPE' is not among the model's (PER, ORG, LOC, MISC); "
        "also 4 more document(s): a.conll:9, a.conll:11, a.conll:13, ...",
        "a.conll:7: stance label 'hostile' is not among the model's (supportive, critical, neutral)"]


def test_a_task_annotated_as_the_other_kind_is_named(news_tasks):
    docs = [Document("Talks resume.", labels={"entities": ["neutral"]}, source="s.csv:2"),
            Document("Talks fail.", labels={"entities": ["critical"]}, source="s.csv:3"),
            Document("EU talks.", {"topic": [Span(0, 2, "ORG")]}, source="e.conll:1")]
    assert label_problems(docs, news_tasks) == [
        "s.csv:2: entities is an entity task of the model, but annotated here with document labels (check --task); "
        "also 1 more document(s): s.csv:3",
        "e.conll:1: topic is a document task of the model, but annotated here with entity spans (check --task)"]


def test_a_pair_task_annotated_on_one_text_is_named():
    """Before: a Label Studio or Doccano export's `stance` (one text a task) was scored by an FNC-1
    checkpoint's pair head, and calibrate refitted the head on it, as if each text were a headline alone."""
    from inference.manifest import TaskSpec
    tasks = [TaskSpec("stance", "pair", ["agree", "disagree"])]
    docs = [Document("Talks resume.", labels={"stance": ["agree"]}, source="ls.json: task 0 (id 1)"),
            Document("Talks fail.", labels={"stance": ["agree"]}, source="ls.json: task 1 (id 2)"),
            Document("Talks end.", labels={"stance": ["disagree"]}, source="s.csv:2", text_pair="A body.")]
    assert label_problems(docs, tasks) == label_problems(docs, tasks, refuse_unknown=False) == [
        "ls.json: task 0 (id 1): task 'stance' of the model reads text pairs (a headline against its body), but this "
        "document is one text (its second text: --format classification with --pair-field, or --format pairs with "
        "--bodies; a Label Studio or Doccano export holds one); also 1 more document(s): "
        "ls.json: task 1 (id 2)"]
