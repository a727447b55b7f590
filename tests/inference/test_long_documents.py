"""Whole documents: every word is labelled, far past 512 tokens, with exact offsets.

The model here is rigged so that its answer is known: the shape embedding of UPPER-case words
points along one hidden dimension that the NER head reads as B-LOC, so every UPPER word, and
nothing else, must come back as a LOC entity, wherever it sits in the text."""
import pytest
import torch

from inference import load
from inference.tokenization import SHAPES, surface


@pytest.fixture(scope="module")
def rigged(any_tiny_checkpoint):
    model = load(any_tiny_checkpoint)
    tags = model.manifest.task("entities").labels
    with torch.no_grad():
        emb = model.model.shape_embedding.weight
        for initial in (0, len(SHAPES)):
            emb[initial + SHAPES.index("upper"), 0] = 60.0
        head = model.model.heads["entities"]
        head.weight.zero_()
        head.bias.zero_()
        head.weight[tags.index("B-LOC"), 0] = 1.0
        head.bias[tags.index("B-LOC")] = -30.0
    return model


def expected(text):
    import re
    return [(m.start(), m.end()) for m in re.finditer(r"(?<![A-Za-z])[A-Z]{2,}(?![A-Za-z])", text)]


def test_entity_after_token_2000_is_found(rigged):
    text = "the delegates talked about the treaty again . " * 400 + "GENEVA hosts the talks ."
    analysis = rigged.analyse([text])[0]
    assert len(analysis.encoded.input_ids) > 2000
    entities = rigged.predict(text).entities
    start = text.index("GENEVA")
    assert [(e.start, e.end, e.label) for e in entities] == [(start, start + 6, "LOC")]
    assert entities[0].text == "GENEVA"


@pytest.mark.parametrize("noise", ["café, naïve façade ", "😀🇺🇳 ", "東京で会談 ", "\r\n", "\t", "   ",
                                   "\u200b", "\u200d\ufeff ", "\x07\x1b "])
def test_offsets_stay_exact_around_unusual_characters(rigged, noise):
    text = "".join(f"{noise}talks in BERLIN{noise}and OSLO went on{noise}" for _ in range(60))
    entities = rigged.predict(text).entities
    assert [(e.start, e.end) for e in entities] == expected(text)
    assert all(text[e.start:e.end] == e.text for e in entities)


def test_an_entity_never_starts_with_an_accent_of_no_letter(rigged):
    text = "talks in \u0301BERLIN went on"   # the mark belongs to no letter of the name
    assert [e.text for e in rigged.predict(text).entities] == ["BERLIN"]


def test_invalid_surrogates_do_not_crash(rigged):
    text = "talks in PARIS \ud800 went on \udfff and on"
    entities = rigged.predict(text).entities
    assert [e.text for e in entities] == ["PARIS"]


@pytest.mark.parametrize("written", ["BER\u00adLIN", "BRASI\u0301LIA"])
def test_a_name_seen_in_training_is_seen_through_a_soft_hyphen_or_a_decomposed_accent(rigged, written):
    """The span calibrator reads whether a name was seen in training; "BER\u00adLIN" is "BERLIN",
    and "BRASI\u0301LIA" (NFD) "BRAS\u00cdLIA" (before: unseen, its score 0.9 -> 0.1)."""
    task = rigged.manifest.task("entities")
    calibrator, seen = task.span_calibrator, rigged.seen
    try:
        # a calibrator that gives seen names 0.9 and unseen ones 0.1, whatever else it reads
        task.span_calibrator = {"types": task.entity_types, "coef": [0.0, 4.4, 0.0] + [0.0] * len(task.entity_types),
                                "intercept": -2.2}
        rigged.seen = {**seen, "entities": frozenset({"BERLIN", "BRAS\u00cdLIA"})}
        scores = [[round(e.score, 2) for e in rigged.predict(text).entities]
                  for text in (f"talks in {surface(written)} and OSLO", f"talks in {written} and OSLO")]
    finally:
        task.span_calibrator, rigged.seen = calibrator, seen
    assert scores == [[0.9, 0.1], [0.9, 0.1]]


def test_names_seen_in_training_are_compared_as_they_read(any_tiny_checkpoint, tmp_path):
    """However white space or accents were written in training or in the text: one form."""
    import json
    import shutil
    ckpt = tmp_path / "ckpt"
    shutil.copytree(any_tiny_checkpoint, ckpt)
    manifest = json.loads((ckpt / "manifest.json").read_text(encoding="utf-8"))
    next(t for t in manifest["tasks"] if t["kind"] == "ner")["seen_entities"] = ["Vladimir\u00a0 Putin", "Brasi\u0301lia"]
    (ckpt / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert load(ckpt).seen["entities"] == {"Vladimir Putin", "Bras\u00edlia"}
    assert surface("Vladimir\t Putin") == surface("Vladimir\nPutin") == surface("Vladi\u00admir Putin") == "Vladimir Putin"
