import json
import shutil

import pytest
from transformers import pipeline

from inference import load
from inference.export import export_ner
from inference.tokenization import encode


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


def test_exported_tokenizer_keeps_the_pieces_and_gives_offsets_without_spaces(any_tiny_checkpoint, tmp_path):
    # SentencePiece's "▁" stands for the space before a word; the pipeline takes an entity's
    # start from its first piece's offset, so that offset must not cover the space.
    from transformers import AutoTokenizer
    model = load(any_tiny_checkpoint)
    out = export_ner(model, "entities", tmp_path / "ner")
    exported = AutoTokenizer.from_pretrained(out)
    text = "Talks in Geneva.\nAnna  Lindqvist\tof the United Nations said: “[Putin] agreed”"
    ours = model.tokenizer(text, return_offsets_mapping=True)
    theirs = exported(text, return_offsets_mapping=True)
    assert theirs["input_ids"] == ours["input_ids"]
    spans = [text[s:e] for s, e in theirs["offset_mapping"] if e > s]
    assert len(spans) == len(ours["input_ids"]) - 2   # every piece but <s> / [CLS] and </s> / [SEP]
    assert all(span == span.strip() for span in spans)
    assert "in" in spans and "of" in spans
    written = f"Talks {model.tokenizer.sep_token} ended in Geneva"   # read as words, as predict reads them
    assert exported(written, add_special_tokens=False)["input_ids"] == encode(model.tokenizer, written).input_ids
    assert json.loads((out / "tokenizer_config.json").read_text())["split_special_tokens"] is True


def test_the_exported_tokenizer_reads_control_characters_and_emoji_as_spaces(any_tiny_checkpoint, tmp_path):
    r"""Before, WordPiece dropped them: "Talks\x0bPutin\x0bmet" was one word to the pipeline, one
    that predict reads as three."""
    from transformers import AutoTokenizer
    model = load(any_tiny_checkpoint)
    exported = AutoTokenizer.from_pretrained(export_ner(model, "entities", tmp_path / "ner"))
    text = "Talks as Putin met Trump in Geneva"
    for blank in ("\x0b", "\x0c", "\x85", "\x1c", "\x00", "\u200b", "\U0001f600"):
        glued = text.replace(" ", blank)
        pieces = exported(glued, return_offsets_mapping=True, add_special_tokens=False)
        assert pieces["input_ids"] == encode(model.tokenizer, glued).input_ids
        assert [glued[s:e] for s, e in pieces["offset_mapping"]] == \
            [text[s:e] for s, e in exported(text, return_offsets_mapping=True, add_special_tokens=False)["offset_mapping"]]


def test_an_export_replaces_an_earlier_export_or_an_empty_folder_but_nothing_else(tiny_checkpoint, tmp_path):
    model = load(tiny_checkpoint)
    first = export_ner(model, "entities", tmp_path / "ner")
    (first / "stale.txt").write_text("from an older export", encoding="utf-8")
    again = export_ner(model, "entities", first)
    assert again == first and not (again / "stale.txt").exists()   # replaced whole, not written over
    assert json.loads((first / "config.json").read_text(encoding="utf-8"))["newsmodel_export"] == {"task": "entities"}
    (tmp_path / "empty").mkdir()
    assert export_ner(model, "entities", tmp_path / "empty") == tmp_path / "empty"
    assert (tmp_path / "empty" / "model.safetensors").is_file()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text('{"architectures": ["BertModel"]}', encoding="utf-8")
    before = {f: f.read_bytes() for folder in (tmp_path / "mine", tiny_checkpoint) for f in folder.iterdir()}
    marked = tmp_path / "marked"   # a checkpoint whose encoder grew from an export keeps the mark
    shutil.copytree(tiny_checkpoint, marked)
    (marked / "config.json").write_text(json.dumps({**json.loads((first / "config.json").read_text()), "x": 1}))
    before.update({f: f.read_bytes() for f in marked.iterdir()})
    for target in (tmp_path / "mine", tiny_checkpoint, marked):   # someone's own model; checkpoints
        with pytest.raises(ValueError, match="exists and is not an earlier export"):
            export_ner(model, "entities", target)
    assert {f: f.read_bytes() for f in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "marked", "mine", "ner"]   # no temporary left


def test_an_earlier_export_holding_a_folder_is_refused_not_replaced(tiny_checkpoint, tmp_path):
    # an export writes files alone: a checkpoint saved inside one would go with it
    model = load(tiny_checkpoint)
    out = export_ner(model, "entities", tmp_path / "models")
    shutil.copytree(tiny_checkpoint, out / "news-v2")
    with pytest.raises(ValueError, match=r"is an earlier export, but replacing it would delete the folder\(s\) it now "
                                         r"holds \(news-v2\): move them out"):
        export_ner(model, "entities", out)
    assert (out / "news-v2" / "manifest.json").is_file()


def test_an_unknown_or_document_task_is_refused_by_name(tiny_checkpoint, tmp_path):
    model = load(tiny_checkpoint)
    with pytest.raises(ValueError, match=r"no task 'nope' in this checkpoint \(tasks: entities, topic, stance\)"):
        export_ner(model, "nope", tmp_path / "ner")
    with pytest.raises(ValueError, match="only ner tasks"):
        export_ner(model, "topic", tmp_path / "ner")
    assert not (tmp_path / "ner").exists()


def test_an_empty_output_is_refused_not_taken_for_the_current_folder(tiny_checkpoint, tmp_path, monkeypatch):
    model = load(tiny_checkpoint)
    monkeypatch.chdir(tmp_path)   # empty: an export could replace it
    with pytest.raises(ValueError, match="the output path is empty"):
        export_ner(model, "entities", "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scheme", ["always", "first", "never"])
def test_the_exported_tokenizer_keeps_the_pieces_whatever_the_metaspace_prepends(tiny_e5_checkpoint, tmp_path, scheme):
    # "first" (transformers' SentencePiece tokenizers with legacy=False) and "never" mark the
    # text's first word otherwise than the words after it; split at white space, each word is read
    # as a text of its own
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer
    model = load(tiny_e5_checkpoint)
    meta = model.tokenizer.backend_tokenizer.pre_tokenizer
    model.tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=meta.replacement, prepend_scheme=scheme, split=meta.split)
    exported = AutoTokenizer.from_pretrained(export_ner(model, "entities", tmp_path / "ner"))
    text = "Officials in Geneva met Anna Lindqvist of the United Nations"
    theirs = exported(text, return_offsets_mapping=True)
    assert theirs["input_ids"] == model.tokenizer(text)["input_ids"]
    if scheme != "never":
        assert all(text[s:e] == text[s:e].strip() for s, e in theirs["offset_mapping"])


def test_a_roberta_encoder_exports_as_the_token_classifier_of_its_type(tokenizer, news_tasks, tmp_path):
    from transformers import RobertaConfig, RobertaModel
    from conftest import _tiny_checkpoint
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=520, pad_token_id=tokenizer.pad_token_id)
    RobertaModel(config, add_pooling_layer=False).save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", str(tmp_path / "base"), news_tasks)
    out = export_ner(load(checkpoint), "entities", tmp_path / "ner")
    exported = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert exported["architectures"] == ["RobertaForTokenClassification"]   # not Bert's, as the docs said
    pipe = pipeline("token-classification", model=str(out), device=-1)
    assert type(pipe.model).__name__ == "RobertaForTokenClassification"


def test_the_pipeline_strides_a_long_text_where_the_tokenizer_names_no_length(tiny_checkpoint, tmp_path):
    """A base folder's tokenizer without model_max_length (transformers takes 1e30): the README's
    pipeline, with a stride, sent a long text whole to the encoder, a RuntimeError past its 512
    positions; the export names the encoder's."""
    model = load(tiny_checkpoint)
    model.tokenizer.model_max_length = int(1e30)
    out = export_ner(model, "entities", tmp_path / "ner")
    tagger = pipeline("token-classification", model=str(out), aggregation_strategy="first", stride=128, device=-1)
    assert tagger.tokenizer.model_max_length == 512
    text = "Officials in Geneva met Anna Lindqvist of the United Nations on Tuesday. " * 60
    assert len(tagger.tokenizer(text)["input_ids"]) > 512
    assert all(text[e["start"]:e["end"]].strip() for e in tagger(text))


def test_the_exported_tokenizer_reads_a_word_without_its_format_characters(any_tiny_checkpoint, tmp_path):
    r"""Before, e5-small's read "Pu\u00adtin" as the pieces "▁Pu", "\xad", "tin", which predict reads as
    "▁Putin"."""
    from transformers import AutoTokenizer
    model = load(any_tiny_checkpoint)
    exported = AutoTokenizer.from_pretrained(export_ner(model, "entities", tmp_path / "ner"))
    text = "Talks as Pu\u00adtin met Bi\u2063den in Gen\u0600eva\u200d."
    pieces = exported(text, return_offsets_mapping=True, add_special_tokens=False)
    assert pieces["input_ids"] == encode(model.tokenizer, text).input_ids
    assert "Pu\u00adtin" in [text[s:e] for s, e in pieces["offset_mapping"]]


def test_the_exported_tokenizer_reads_half_and_full_width_characters_as_predict_does(any_tiny_checkpoint, tmp_path):
    """Before, MiniLM's read "\uff2e\uff21\uff34\uff2f" as "[UNK]", which predict reads as "nato"."""
    from transformers import AutoTokenizer
    model = load(any_tiny_checkpoint)
    exported = AutoTokenizer.from_pretrained(export_ner(model, "entities", tmp_path / "ner"))
    text = "\uff2e\uff21\uff34\uff2f met in Geneva\uff08\uff33\uff57\uff49\uff54\uff5a\uff09\uff0c said \uff76\uff80\uff76\uff85 km\u00b2"
    pieces = exported(text, return_offsets_mapping=True, add_special_tokens=False)
    assert pieces["input_ids"] == encode(model.tokenizer, text).input_ids
    assert exported.unk_token_id not in exported("\uff2e\uff21\uff34\uff2f", add_special_tokens=False)["input_ids"]
    assert "\uff2e\uff21\uff34\uff2f" in [text[s:e] for s, e in pieces["offset_mapping"]]


def test_width_forms_are_replaced_only_where_the_backend_does_not_read_them_so(tiny_checkpoint, tiny_e5_checkpoint,
                                                                              tmp_path):
    """Before, every export added 224 replace steps, which e5-small's own NFKC step makes idle."""
    def width_steps(checkpoint, name):
        folder = export_ner(load(checkpoint), "entities", tmp_path / name)
        normalizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["normalizer"]
        return [step for step in normalizer["normalizers"] if step["type"] == "Replace" and "String" in step["pattern"]]
    assert len(width_steps(tiny_checkpoint, "minilm")) == 224   # WordPiece's normalizer reads "\uff2e" as written
    assert width_steps(tiny_e5_checkpoint, "e5") == []


def test_a_checkpoint_without_an_ner_task_is_said_to_have_none(tiny_base, news_tasks, tmp_path):
    """Before: a topic-only checkpoint's export said "no task 'entities' in this checkpoint", as if
    the task's name were wrong."""
    from conftest import _tiny_checkpoint
    checkpoint = _tiny_checkpoint(tmp_path / "ckpt", tiny_base, [t for t in news_tasks if t.kind != "ner"])
    with pytest.raises(ValueError, match=r"^this checkpoint has no NER task to export as a token classifier "
                                         r"\(its tasks: topic \(multi\), stance \(single\)\)$"):
        export_ner(load(checkpoint), "entities", tmp_path / "ner")
    assert not (tmp_path / "ner").exists()
