from training.corpus import Document, Span
from training.targets import gold_targets
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


def test_all_subwords_labels_later_subwords_inside_their_word(any_tokenizer, news_tasks):
    text = "Envoy Anna Lindqvist visited Karlskrona yesterday."
    doc = Document(text, {"entities": [Span(6, 20, "PER"), Span(29, 39, "LOC")]})
    enc = encode(any_tokenizer, text)
    tags = news_tasks[0].labels
    first_only = gold_targets(doc, enc, news_tasks).subword_tags["entities"]
    every = gold_targets(doc, enc, news_tasks, all_subwords=True).subword_tags["entities"]
    words = [text[s:e] for s, e in enc.words]
    later = {}
    for i, w in enumerate(enc.token_words):
        if i == enc.first_subwords[w]:
            assert every[i] == first_only[i]
        elif i < enc.first_subwords[w]:   # a lone "▁" before the word: still unlabelled
            assert every[i] == first_only[i] == IGNORE
        else:
            assert first_only[i] == IGNORE
            later.setdefault(words[w], set()).add(tags[every[i]])
    assert later["Lindqvist"] == {"I-PER"} and later["Karlskrona"] == {"I-LOC"}
    assert all(found == {"O"} for word, found in later.items() if word not in ("Lindqvist", "Karlskrona"))
