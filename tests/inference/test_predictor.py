import re
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import inference
from inference import load

LONG = " ".join(f"Delegates from Geneva met officials in round {i}." for i in range(60))


@pytest.fixture(scope="module")
def model(any_tiny_checkpoint):
    return load(any_tiny_checkpoint)


def test_result_shape_offsets_and_probabilities(model):
    text = "VIENNA, May 3 - Inspectors from the IAEA met Iranian officials.\r\nTalks go on."
    result = model.predict(text)
    for e in result.entities:
        assert text[e.start:e.end] == e.text and 0.0 <= e.score <= 1.0
    assert set(result.labels) == {"topic", "stance"}
    for labels in result.labels.values():
        scores = [l.score for l in labels]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert abs(sum(l.score for l in result.labels["stance"]) - 1.0) < 1e-4
    d = result.to_dict()
    assert set(d) == {"entities", "labels"} and isinstance(d["labels"]["topic"][0]["score"], float)


def test_chosen_labels_follow_the_checkpoint_decision_rule(model):
    topic = model.manifest.task("topic")
    topic.thresholds = {label: 0.0 for label in topic.labels[:2]} | {label: 1.0 for label in topic.labels[2:]}
    try:
        result = model.predict("Sanctions on Iran were discussed in Geneva.")
    finally:
        topic.thresholds = {}
    assert sorted(result.chosen("topic")) == sorted(topic.labels[:2])         # at or above threshold
    stance = result.labels["stance"]
    assert result.chosen("stance") == [stance[0].label] and [l.chosen for l in stance] == [True, False, False]
    assert result.to_dict()["labels"]["stance"][0]["chosen"] is True


def test_long_text_is_read_whole_in_windows(model):
    analysis = model.analyse([LONG])[0]
    assert len(analysis.encoded.input_ids) > 5 * model.manifest.window_length  # many windows
    assert len(analysis.word_probs["entities"]) == len(analysis.encoded.words)  # every word labelled
    assert not (analysis.word_probs["entities"].sum(1) == 0).any()


def test_batch_equals_one_by_one(model):
    texts = ["Short one.", LONG, "Moscow and Washington agreed on Tuesday."]
    batch = model.predict_batch(texts, batch_size=2)
    for text, pred in zip(texts, batch):
        single = model.predict(text)
        assert [(e.start, e.end, e.label) for e in pred.entities] == [(e.start, e.end, e.label) for e in single.entities]
        for task in pred.labels:
            for a, b in zip(pred.labels[task], single.labels[task]):
                assert a.label == b.label and a.score == pytest.approx(b.score, abs=1e-4)


def test_a_data_frame_is_refused_rather_than_read_by_its_column_names(model):
    """Before, predict_batch(df) of a DataFrame of 3 texts in a "text" column gave one prediction,
    of the word "text"."""
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"text": ["Talks in Geneva.", "Talks in Berlin.", "Talks in Oslo."]})
    for call in (model.predict_batch, model.analyse, model.encode):
        with pytest.raises(TypeError, match='^texts must be a list of str, not DataFrame: give its column of texts '
                                            '\\(df\\["text"\\]\\)$'):
            call(frame)
    with pytest.raises(TypeError, match="^pairs must be a list of str, not DataFrame"):
        model.predict_batch(list(frame["text"]), pairs=frame)
    assert len(model.predict_batch(frame["text"])) == 3   # its column, a Series, is read text by text
    assert len(model.predict_batch(pandas.Series(["Oslo.", "Bern."], index=["columns", "b"]))) == 2   # not a table


def test_token_budget_does_not_change_predictions(model):
    texts = ["Short one.", LONG, "Moscow and Washington agreed on Tuesday."]
    default = [p.to_dict() for p in model.predict_batch(texts)]
    one_by_one = [p.to_dict() for p in model.predict_batch(texts, max_tokens=1)]
    assert [[(e["start"], e["end"], e["label"]) for e in d["entities"]] for d in default] == \
        [[(e["start"], e["end"], e["label"]) for e in d["entities"]] for d in one_by_one]
    with pytest.raises(ValueError, match="max_tokens must be a positive whole number, not 0"):
        model.predict_batch(texts, max_tokens=0)
    with pytest.raises(ValueError, match="batch_size must be a positive whole number, not 2.5"):
        model.predict_batch(texts, batch_size=2.5)   # before: taken, and no window limit at all
    assert [p.to_dict() for p in model.predict_batch(texts, batch_size=np.int64(16))] == default   # a NumPy integer


def test_a_refused_batch_size_reads_no_text_of_a_generator(model):
    """Before, the texts were read first: the refusal left the generator empty, and the call
    with the size mended predicted nothing."""
    texts = ["Talks in Geneva.", "Moscow and Washington agreed on Tuesday."]
    generator = (text for text in texts)
    for sizes in ({"batch_size": 0}, {"max_tokens": 2.5}):
        with pytest.raises(ValueError, match="must be a positive whole number"):
            model.predict_batch(generator, **sizes)
    assert [p.to_dict() for p in model.predict_batch(generator)] == [p.to_dict() for p in model.predict_batch(texts)]


def test_the_sizes_are_checked_once_per_call(model, monkeypatch):
    """Before, predict_batch checked them, then analyse, which it called, checked them again."""
    import inference.predictor
    checked = []
    real = inference.predictor._check_sizes
    monkeypatch.setattr(inference.predictor, "_check_sizes", lambda *sizes: checked.append(sizes) or real(*sizes))
    model.predict_batch(["Talks in Geneva."], batch_size=4, max_tokens=512)
    model.analyse(["Talks in Geneva."], batch_size=4, max_tokens=512)
    assert checked == [(4, 512), (4, 512)]


def test_a_mapping_is_refused_rather_than_read_by_its_keys(model):
    """Before, predict_batch({text: id}) predicted on the keys, and pairs={0: None} failed on its keys."""
    from collections import OrderedDict
    from types import MappingProxyType
    texts = {"Talks in Geneva.": 1, "Talks in Berlin.": 2}
    for mapping in (texts, OrderedDict(texts), MappingProxyType(texts)):
        name = type(mapping).__name__
        for call in (model.predict_batch, model.analyse, model.encode):
            with pytest.raises(TypeError, match=f"^texts must be a list of str, not {name}$"):
                call(mapping)
        with pytest.raises(TypeError, match=f"^pairs must be a list of str, not {name}$"):
            model.predict_batch(list(texts), pairs=type(mapping)({0: None, 1: None}))


def test_empty_text_gives_empty_result_and_non_strings_raise(model):
    blank = model.predict("  \n")
    assert model.predict("").entities == [] and blank.labels == {"topic": [], "stance": []}
    assert blank.chosen("topic") == [] and blank.to_dict() == {"entities": [], "labels": {"topic": [], "stance": []}}
    for marks in ("!!!...???", "\u2014\u2013-", "()[]{}@#$%"):   # before: "!!!...???" was given four topics
        assert model.predict(marks).to_dict() == blank.to_dict()
    for marks in ("\u3164!!!", "\uffa0???"):   # Hangul fillers: letters by category, read as spaces
        assert model.predict(marks).to_dict() == blank.to_dict()
    with pytest.raises(KeyError, match="no document task 'topics'; the model's: topic, stance"):
        blank.chosen("topics")
    with pytest.raises(TypeError, match="^text must be str, not NoneType$"):   # the argument's name, not texts[0]
        model.predict(None)
    with pytest.raises(TypeError, match=r"texts\[1\] must be str, not bytes"):
        model.predict_batch(["ok", b"bytes"])
    with pytest.raises(TypeError, match=r"^pair must be str or None, not int$"):
        model.predict("Talks resume", pair=3)
    with pytest.raises(TypeError, match=r"pairs\[0\] must be str or None, not int"):
        model.predict_batch(["Talks resume"], pairs=[3])
    with pytest.raises(TypeError, match="texts must be a list of str, not str: for one text, call predict"):
        model.predict_batch("Talks in Geneva.")   # not one text per character
    with pytest.raises(TypeError, match="pairs must be a list of str, not str"):
        model.predict_batch(["Talks resume"], pairs="In Geneva.")
    with pytest.raises(TypeError, match=r"texts\[0\] must be str, not int"):
        model.encode([3])   # the public encode checks as predict does
    texts = ["Talks in Geneva.", "Talks in Berlin."]
    assert [p.to_dict() for p in model.predict_batch(t for t in texts)] == [p.to_dict() for p in model.predict_batch(texts)]
    with pytest.raises(ValueError, match="1 pairs for 2 texts"):
        model.predict_batch(["Talks resume", "Talks end"], pairs=["In Geneva."])   # not one prediction dropped


def test_each_text_is_searched_for_a_letter_or_digit_once(model, monkeypatch):
    """Before, analyse (for the document scores) and predict (for the result) each searched every text."""
    import inference.predictor
    searched = []
    real = inference.predictor.has_letter_or_digit
    monkeypatch.setattr(inference.predictor, "has_letter_or_digit", lambda text: searched.append(text) or real(text))
    texts = ["Talks in Geneva.", "!!!", "Talks in Berlin."]
    results = model.predict_batch(texts, pairs=[None, None, ""])
    assert searched == ["Talks in Geneva.", "!!!", "", "Talks in Berlin."]
    assert [p.labels["topic"] == [] for p in results] == [False, True, False]


def test_a_list_or_no_list_where_one_is_expected_is_named(model):
    """Before: predict_batch(None) raised "'NoneType' object is not iterable", naming no argument,
    and predict(a list) did not point to predict_batch."""
    with pytest.raises(TypeError, match=r"^text must be str, not list: for many texts, call predict_batch\(texts\)$"):
        model.predict(["Talks in Geneva."])
    for value in (None, 5):
        with pytest.raises(TypeError, match=f"^texts must be a list of str, not {type(value).__name__}$"):
            model.predict_batch(value)
    with pytest.raises(TypeError, match="^pairs must be a list of str, not int$"):
        model.predict_batch(["Talks resume"], pairs=5)


def test_a_blank_pair_reads_the_first_text_alone(model):
    import math
    text = "Vladimir Putin met Emmanuel Macron in Paris"
    alone = model.predict(text).to_dict()
    for blank in (" \n", "\u200b", "\u00ad\x85"):   # white space, or what the encoder drops
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # nothing to warn about: the pair changes nothing
            assert model.predict(text, pair=blank).to_dict() == alone
    for call in (lambda: model.predict(text, pair="Macron said talks would go on."),
                 lambda: model.predict_batch([text], pairs=["Macron said talks would go on."]),
                 lambda: model.analyse([text], pairs=["Macron said talks would go on."])):
        with pytest.warns(UserWarning, match="this checkpoint has no pair task") as said:   # a pair it reads: said
            call()
        assert said[0].filename == __file__   # pointing at the caller's line, not the package's
    scores = [label["score"] for labels in alone["labels"].values() for label in labels]
    assert set(alone["labels"]) == {"topic", "stance"} and all(math.isfinite(s) for s in scores)


def test_a_pair_task_without_its_second_text_is_warned_about_once(tiny_base, news_tasks, tmp_path, monkeypatch):
    """Before, predict(headline) on a checkpoint with a pair task (FNC-1 stance beside NER) gave that
    task's labels, read from the headline alone as it never trained to, without a word; and the
    default checkpoint's predict(text) took no pair at all."""
    from conftest import _tiny_checkpoint
    from inference.manifest import TaskSpec
    tasks = [news_tasks[0], TaskSpec("stance", "pair", ["agree", "unrelated"])]
    checkpoint = _tiny_checkpoint(tmp_path / "pairs", tiny_base, tasks)
    model = load(checkpoint)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # each text with its pair, or a blank one that gets no label: nothing to say
        model.predict("Talks resume", pair="Officials in Geneva said so.")
        model.predict_batch([" ", "Talks resume"], pairs=[None, "In Geneva."])
    with pytest.warns(UserWarning, match="the pair task stance reads a second text") as said:
        model.predict_batch(["Talks resume", "Talks end"], pairs=["In Geneva.", None])
        model.predict("Talks resume")   # said once for the model, not for every text of a loop
    assert len(said) == 1 and said[0].filename == __file__
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", str(checkpoint))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert inference.predict("Talks resume", pair="In Geneva.").chosen("stance")


def test_an_entity_of_the_first_text_ends_where_that_text_ends(any_tiny_checkpoint):
    """Before, a name closing a headline ran on through the separator into the body (every word
    below is I-LOC): cut at the headline's end, but scored over the body's words too."""
    import torch
    rigged = load(any_tiny_checkpoint)
    tags = rigged.manifest.task("entities").labels
    with torch.no_grad():
        head = rigged.model.heads["entities"]
        head.weight.zero_()
        head.bias.zero_()
        head.bias[tags.index("I-LOC")] = 5.0
    text = "Talks in Geneva"
    alone = rigged.predict(text).entities
    with pytest.warns(UserWarning, match="no pair task"):
        paired = rigged.predict(text, pair="Vienna and Oslo followed").entities
    assert [e.text for e in alone] == [text] and paired == alone


def test_an_ascii_symbol_the_model_tags_stays_in_the_entity(any_tiny_checkpoint):
    """"+" is a word of its own, which the model tags (the bundled corpus has "OPEC+"); before, it was
    cut off as a symbol the tokenizer had kept in a word ("Windows\u2122", which still loses "\u2122")."""
    import torch
    from inference.tokenization import SHAPES
    rigged = load(any_tiny_checkpoint)
    tags = rigged.manifest.task("entities").labels
    with torch.no_grad():   # upper-case words are B-LOC, punctuation I-LOC, the rest O
        rigged.model.shape_embedding.weight.zero_()
        for initial in (0, len(SHAPES)):
            rigged.model.shape_embedding.weight[initial + SHAPES.index("upper"), 0] = 60.0
            rigged.model.shape_embedding.weight[initial + SHAPES.index("punct"), 1] = 60.0
        head = rigged.model.heads["entities"]
        head.weight.zero_()
        head.bias.zero_()
        head.weight[tags.index("B-LOC"), 0] = head.weight[tags.index("I-LOC"), 1] = 1.0
        head.bias[tags.index("B-LOC")] = head.bias[tags.index("I-LOC")] = -30.0
    text = "talks with OPEC+ and WINDOWS\u2122 went on"
    assert [e.text for e in rigged.predict(text).entities] == ["OPEC+", "WINDOWS"]


def test_8_threads_x_50_calls_match_serial_results(model):
    texts = [f"Talks in Geneva, round {i}. " * (i % 5 + 1) for i in range(8)]
    serial = [model.predict(t).to_dict() for t in texts]
    results, errors = {}, []

    def worker(i):
        try:
            results[i] = [model.predict(texts[i]).to_dict() for _ in range(50)]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(8):
        assert all(got == serial[i] for got in results[i])


def test_default_predict_without_checkpoint_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="make train") as raised:
        inference.predict("text")
    # a command that trains: before, `python -m training train --output ...`, refused for want of --train
    assert f"`python -m training train --train FILE --dev FILE --output '{tmp_path / 'missing'}'`" in str(raised.value)


def test_default_predict_names_a_checkpoint_path_ending_in_a_newline_on_one_line(tmp_path, monkeypatch):
    """Before: NEWSMODEL_CHECKPOINT=$(cat file), its newline kept, broke the message in three lines."""
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", f"{tmp_path}/missing\n")
    with pytest.raises(FileNotFoundError, match=re.escape(f"no checkpoint at '{tmp_path}/missing\\n'. Train")) as raised:
        inference.predict("text")
    assert "\n" not in str(raised.value)


def test_default_predict_uses_the_environment_checkpoint(tiny_checkpoint, monkeypatch):
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", str(tiny_checkpoint))
    assert set(inference.predict("Geneva talks.").labels) == {"topic", "stance"}


def test_the_environment_checkpoint_may_start_at_the_home_folder(tmp_path, monkeypatch):
    """Before: NEWSMODEL_CHECKPOINT="~/ckpt" (quoted, or set where no shell reads it) was looked for
    in a folder named "~" of the working one, and the advice said to train into it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", "~/ckpt")
    assert inference.default_checkpoint() == tmp_path / "ckpt"


SUMMIT = Path(__file__).resolve().parents[3] / "shared" / "examples" / "summit_article.txt"


@pytest.mark.skipif(not SUMMIT.exists(), reason="../shared/examples is not here")
def test_real_wire_article_is_read_to_its_last_word(model):
    text = SUMMIT.read_text(encoding="utf-8")
    analysis = model.analyse([text])[0]
    assert len(analysis.encoded.input_ids) > 512
    assert analysis.encoded.words[-1][1] >= len(text.rstrip()) - 1  # the last word is labelled too
    for e in model.predict(text).entities:
        assert text[e.start:e.end] == e.text


def _seen_geneva(checkpoint, folder):
    """A copy of `checkpoint` whose span calibrator scores a name seen in training ("Geneva") 0.88, others 0.5."""
    import json
    import shutil
    shutil.copytree(checkpoint, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    entities = next(t for t in manifest["tasks"] if t["kind"] == "ner")
    entities["seen_entities"] = ["Geneva"]
    entities["span_calibrator"] = {"types": ["PER", "ORG", "LOC", "MISC"], "coef": [0, 2.0, 0, 0, 0, 0, 0],
                                   "intercept": 0.0}   # 0.5, or 0.88 for a string seen in training
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_entity_scores_pass_through_the_span_calibrator(any_tiny_checkpoint, tmp_path):
    text = "Talks in Geneva and Vienna went on. " * 3
    model = load(_seen_geneva(any_tiny_checkpoint, tmp_path / "c"))
    scores = {text[e.start:e.end]: e.score for e in model.predict(text).entities}
    assert scores and all(s == pytest.approx(0.880797 if name == "Geneva" else 0.5) for name, s in scores.items())
    assert all(type(s) is float for s in scores.values())   # not numpy scalars: plain reprs, any JSON encoder


def test_a_name_with_a_symbol_at_its_edge_is_looked_up_as_shown(any_tiny_checkpoint, tmp_path, monkeypatch):
    """"Geneva\u00a9" shows as "Geneva", which training saw: scored as seen (it was read as unseen).
    The decoder is made to find that word, whatever the tiny model would."""
    import inference.predictor
    model = load(_seen_geneva(any_tiny_checkpoint, tmp_path / "c"))
    text = "Talks in Geneva\u00a9 and Vienna went on."
    words = [text[s:e] for s, e in model.encode([text])[0].words]
    i = words.index("Geneva\u00a9")
    monkeypatch.setattr(inference.predictor, "decode_task", lambda task, probs, *a, **k: [[(i, i + 1, "LOC", 0.7)]])
    [entity] = model.predict(text).entities
    assert (entity.text, entity.score) == ("Geneva", pytest.approx(0.880797))


def test_white_space_behind_a_symbol_cut_at_an_entitys_edge_is_cut_too(any_tiny_checkpoint, monkeypatch):
    """A span that opens and ends with a word of symbols alone ("\u24b6"): before, the space behind
    the cut symbol stayed in the entity (" Geneva\t"). The decoder is made to find the span, whatever
    the tiny model would."""
    import inference.predictor
    model = load(any_tiny_checkpoint)
    text = "Talks in \u24b6 Geneva\t\u24b6 went on."
    assert [text[s:e] for s, e in model.encode([text])[0].words][2:5] == ["\u24b6", "Geneva", "\u24b6"]
    monkeypatch.setattr(inference.predictor, "decode_task", lambda task, probs, *a, **k: [[(2, 5, "LOC", 0.7)]])
    [entity] = model.predict(text).entities
    assert (entity.text, text[entity.start:entity.end]) == ("Geneva", "Geneva")


@pytest.mark.parametrize("options, error", [({}, "torch sees no GPU"), ({"runtime": "onnx"}, "runs on the CPU only")])
def test_a_device_that_cannot_run_is_refused_before_the_checkpoint_loads(tiny_checkpoint, monkeypatch, options, error):
    """Before: the weights were read first, a progress bar and seconds for a refusal."""
    import inference.predictor
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr(inference.predictor, "load_checkpoint", lambda path: pytest.fail("the checkpoint was loaded"))
    with pytest.raises(ValueError, match=error):
        load(tiny_checkpoint, device="cuda", **options)


def test_an_entity_names_the_ner_task_that_found_it(tmp_path, tiny_base, news_tasks, monkeypatch):
    """Before: with two NER tasks, the entities of both came in one list, and to_dict() (the JSON
    lines of `newsmodel predict`) could not say which task had found which."""
    import json
    import inference.predictor
    from conftest import _tiny_checkpoint
    from inference.manifest import TaskSpec
    tasks = news_tasks + [TaskSpec("events", "ner", ["O", "B-EVENT", "I-EVENT"])]
    model = load(_tiny_checkpoint(tmp_path / "two", tiny_base, tasks))
    text = "Geneva talks ended."
    spans = {"entities": (0, 1, "LOC", 0.7), "events": (1, 2, "EVENT", 0.6)}   # the decoder made to find them
    monkeypatch.setattr(inference.predictor, "decode_task", lambda task, *a, **k: [[spans[task.name]]])
    result = model.predict(text)
    assert [(e.text, e.task) for e in result.entities] == [("Geneva", "entities"), ("talks", "events")]
    assert [e["task"] for e in json.loads(json.dumps(result.to_dict()))["entities"]] == ["entities", "events"]


def test_a_rounded_topic_score_stays_on_its_side_of_the_threshold(model):
    """Before: 0.4999996 at a threshold of 0.5 was shown as 0.5, yet not chosen (and a score just
    above a threshold could be shown below it, chosen)."""
    text = "Sanctions on Iran were discussed in Geneva."
    topic = model.manifest.task("topic")
    probs = model.analyse([text])[0].doc_probs["topic"]
    first, second = topic.labels[:2]
    p = probs[0]   # float32, as decide compares it
    if round(float(p), 6) == float(p):
        pytest.skip("a score with no more than 6 decimals")
    # a threshold between the score and its rounding: the rounding lies on the other side
    threshold = max(round(float(p), 6), float(p))
    topic.thresholds = {first: threshold, second: 0.0}   # `second` chosen: no label chosen as the best alone
    try:
        labels = {l.label: l for l in model.predict(text).labels["topic"]}
    finally:
        topic.thresholds = {}
    assert labels[first].chosen == bool(p >= threshold)
    assert (labels[first].score >= threshold) == labels[first].chosen
    assert labels[second].chosen and labels[second].score == round(float(probs[1]), 6)   # away from a threshold: rounded


def test_default_predict_refuses_a_non_string_before_loading(tmp_path, monkeypatch):
    """Before: predict(None) loaded the default checkpoint first (or said there was none)."""
    import inference.predictor
    monkeypatch.setenv("NEWSMODEL_CHECKPOINT", str(tmp_path / "missing"))
    monkeypatch.setattr(inference.predictor, "load_checkpoint", lambda path: pytest.fail("the checkpoint was loaded"))
    for wrong, name in ((None, "NoneType"), (3, "int"), (b"text", "bytes")):
        with pytest.raises(TypeError, match=f"^text must be str, not {name}$"):
            inference.predict(wrong)


def test_the_public_api_is_hinted_as_it_is_called():
    """Before: inference.load hinted `device: str` where NewsModel.load takes a torch.device or None
    too, and predict_batch hinted `pairs: list[str]` where a None stands for a text without a pair."""
    import inspect
    import typing
    from inference.predictor import NewsModel
    assert typing.get_type_hints(inference.load) == typing.get_type_hints(NewsModel.load)
    assert [p.default for p in inspect.signature(inference.load).parameters.values()] == \
        [p.default for p in inspect.signature(NewsModel.load).parameters.values()]
    assert typing.get_type_hints(NewsModel.predict_batch)["pairs"] == typing.get_type_hints(NewsModel.analyse)["pairs"]


def test_an_empty_checkpoint_path_is_named_as_given(tmp_path, monkeypatch):
    """Before: load("") said that "." (the folder the command runs in) is not a checkpoint."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="^the checkpoint path is empty"):
        load("")


def test_lexical_features_are_built_for_a_bounded_number_of_documents_at_once(tmp_path, tiny_base, news_tasks,
                                                                              monkeypatch):
    """A document's lexical features are a dense row as wide as the vocabulary (100,001 floats for
    a pair at the benchmarks' 50,000 terms). Before, one row per document of the call was built at
    once: 2,000 short pairs took 1.15 GB more memory than without a lexicon (16 MB), and the 4,306
    pairs of the FNC-1 stand-in test, scored in one call, would hold 1.7 GB of them."""
    import dataclasses
    import torch
    from transformers import AutoModel, AutoTokenizer
    import inference.predictor
    from inference.checkpoint import save_checkpoint
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    tasks = [dataclasses.replace(t, lexical=t.kind != "ner") for t in news_tasks]
    vocabulary = ["geneva", "round", "talks"]
    torch.manual_seed(0)
    network = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), tasks,
                             lexicon_size=len(vocabulary))
    with torch.no_grad():
        network.lexicon_idf.fill_(1.0)
        for weights in network.lexical.values():
            weights.normal_()   # the lexical branch moves the labels, so a document read wrong would show
    save_checkpoint(network, AutoTokenizer.from_pretrained(tiny_base),
                    Manifest(tasks=tasks, base_model="tiny", window_length=32, window_overlap=8, lexicon=vocabulary),
                    tmp_path / "lexical")
    model = load(tmp_path / "lexical")
    rows, features = [], model.lexicon.features
    monkeypatch.setattr(model.lexicon, "features", lambda texts, pairs=None: rows.append(len(texts)) or
                        features(texts, pairs))
    monkeypatch.setattr(inference.predictor, "LEXICAL_ROWS", 4, raising=False)
    texts = [f"Talks in Geneva, round {i}." if i % 3 else "Geneva" for i in range(11)]
    batch = model.predict_batch(texts)
    assert rows == [4, 4, 3]
    for text, prediction in zip(texts, batch):
        alone = model.predict(text)
        for task, labels in prediction.labels.items():
            assert [(l.label, l.chosen) for l in labels] == [(l.label, l.chosen) for l in alone.labels[task]]
            assert [l.score for l in labels] == pytest.approx([l.score for l in alone.labels[task]], abs=1e-5)


@pytest.mark.parametrize("first", ["inference", "training.dataset"])
def test_transformers_imported_after_the_package_is_offline(first):
    """inference sets HF_HUB_OFFLINE when imported, not when it loads: transformers imported after it
    (training.dataset imports transformers before inference, but the training package imports inference
    first) reads it, and so never downloads."""
    import os
    import subprocess
    import sys
    from conftest import REPO
    script = f"import {first}, transformers, huggingface_hub.constants as c; assert c.HF_HUB_OFFLINE, c.HF_HUB_OFFLINE"
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]


@pytest.mark.parametrize("runtime, quantize", [("onnx", None), ("onnx-int8", None), ("onnx", True)])
def test_a_forced_onnx_runtime_without_the_onnx_extra_is_refused_before_the_weights_load(monkeypatch, runtime, quantize):
    """Before: the checkpoint's weights were read first (seconds, for a large one), then refused."""
    import inference.predictor as predictor
    monkeypatch.setattr(predictor, "missing_onnx_modules", lambda: ["onnxscript"], raising=False)
    monkeypatch.setattr(predictor, "load_checkpoint", lambda *a, **k: pytest.fail("the weights were loaded"))
    with pytest.raises(ImportError, match=r'^runtime="onnx(-int8)?" needs ONNX Runtime and onnxscript: pip install '
                                          r'"newsmodel\[onnx\]" \(onnxscript not installed\)$'):
        load("any/checkpoint", runtime=runtime, quantize=quantize)
