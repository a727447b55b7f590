from transformers import pipeline

from inference import load
from inference.export import export_ner


def test_exported_ner_model_labels_text_as_predict_does(any_tiny_checkpoint, tmp_path):
    # The tiny checkpoint's shape embedding is all zeros (its initial value), so the exported
    # encoder + NER head must reproduce predict's token labels exactly.
    model = load(any_tiny_checkpoint)
    out = export_ner(model, "entities", tmp_path / "ner")
    pipe = pipeline("token-classification", model=str(out), aggregation_strategy="none", device=-1)
    text = "Officials in Geneva met Anna Lindqvist of the United Nations on Tuesday"
    analysis = model.analyse([text])[0]
    tags = model.manifest.task("entities").labels
    ours = [tags[i] for i in analysis.word_probs["entities"].argmax(1)]
    theirs = {t["index"]: t["entity"] for t in pipe(text)}   # subword positions, [CLS] at 0
    for first, tag in zip(analysis.encoded.first_subwords, ours):
        assert theirs.get(first + 1, "O") == tag
    assert pipe.model.config.id2label == dict(enumerate(tags))
