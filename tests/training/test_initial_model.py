import pytest
import torch
from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel

from training.initial_model import attention_dropout_of, set_attention_dropout
from training.model_card import _attention_dropout


def _encoder(attention_dropout: float) -> BertModel:
    config = BertConfig(vocab_size=100, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=attention_dropout)
    return BertModel(config, add_pooling_layer=False).train()


def _two_passes(encoder: BertModel) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(0))
    return encoder(input_ids=ids).last_hidden_state, encoder(input_ids=ids).last_hidden_state


def test_attention_dropout_reaches_every_self_attention_layer():
    encoder = _encoder(0.5)
    first, second = _two_passes(encoder)
    assert not torch.equal(first, second)          # the only dropout left is on the attention probabilities
    set_attention_dropout(encoder, 0.0)
    first, second = _two_passes(encoder)
    assert torch.equal(first, second)
    assert attention_dropout_of(encoder) == 0.0   # the saved config says what the run trained with
    set_attention_dropout(encoder, 0.3)
    assert [m.dropout.p for m in encoder.modules() if type(m).__name__ == "BertSelfAttention"] == [0.3, 0.3]


def test_attention_dropout_on_an_encoder_without_bert_attention_is_an_error():
    with pytest.raises(ValueError, match="attention_dropout: Linear has no BERT-style self-attention dropout"):
        set_attention_dropout(torch.nn.Linear(2, 2), 0.0)


def test_the_encoders_own_attention_dropout_is_read_from_its_config():
    assert attention_dropout_of(_encoder(0.1)) == 0.1


def test_distilbert_keeps_its_attention_dropout_under_its_own_config_key():
    encoder = DistilBertModel(DistilBertConfig(vocab_size=100, dim=8, n_layers=1, n_heads=2, hidden_dim=16))
    set_attention_dropout(encoder, 0.0)
    assert encoder.config.attention_dropout == 0.0 and attention_dropout_of(encoder) == 0.0
    assert [m.dropout.p for m in encoder.modules() if type(m).__name__.endswith("SelfAttention")] == [0.0]
    assert not hasattr(encoder.config, "attention_probs_dropout_prob")


@pytest.mark.parametrize("p, card", [(0.1, ", attention dropout 0.1"), (0.0, ", no dropout on the attention probabilities"),
                                     (None, "")])
def test_the_model_card_names_the_attention_dropout_a_run_used(p, card):
    assert _attention_dropout(p) == card


def test_a_base_folder_with_weights_missing_is_refused(tiny_base, tmp_path):
    import shutil
    from safetensors.torch import load_file, save_file
    from training.initial_model import new_model
    base = tmp_path / "base"
    shutil.copytree(tiny_base, base)
    weights = load_file(str(base / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if "layer.0.output" not in k}, str(base / "model.safetensors"),
              metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"base/model.safetensors: not the encoder config.json describes \(\d+ "
                                         r"weights missing"):   # before: filled with random values, silently
        new_model(str(base), {"entities": {"kind": "ner", "labels": ["PER"]}}, shape_input=True)


def test_a_base_folder_without_its_tokenizer_is_refused(tiny_base, tmp_path):
    """Before: transformers built a tokenizer of 5 special tokens, and every word trained as [UNK]."""
    import shutil
    from pathlib import Path
    from training.initial_model import new_model
    (tmp_path / "base").mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(Path(tiny_base) / name, tmp_path / "base" / name)
    with pytest.raises(ValueError, match=r"its tokenizer has \d+ tokens for an encoder of \d+: the folder lacks the "
                                         r"encoder's tokenizer files"):
        new_model(str(tmp_path / "base"), {"entities": {"kind": "ner", "labels": ["PER"]}}, shape_input=True)


@pytest.mark.parametrize("file, damage", [("tokenizer.json", "{}"), ("tokenizer.json", ""),
                                          ("tokenizer.json", '{"added_tokens": 5}'), ("tokenizer_config.json", "[1]")])
def test_a_base_folder_with_a_damaged_tokenizer_file_is_refused_with_the_folder(tiny_base, tmp_path, file, damage):
    """Before: a KeyError's traceback ('added_tokens'), an AttributeError's (a config that is a
    list), or a JSON error naming no file."""
    import shutil
    from training.initial_model import new_model
    base = tmp_path / "base"
    shutil.copytree(tiny_base, base)
    (base / file).write_text(damage, encoding="utf-8")
    with pytest.raises(ValueError, match=r"^base .*base: the tokenizer \(tokenizer.json, tokenizer_config.json\) "
                                         r"cannot be read: "):
        new_model(str(base), {"entities": {"kind": "ner", "labels": ["PER"]}}, shape_input=True)


def test_a_base_folder_without_tokenizer_config_names_that_file(tiny_e5_base, tmp_path):
    """Before: "the tokenizer files are another encoder's", though they were its own: without
    tokenizer_config.json, transformers built a BertTokenizer and added [CLS], [SEP]... to e5's vocabulary."""
    import shutil
    from training.initial_model import new_model
    base = tmp_path / "base"
    shutil.copytree(tiny_e5_base, base)
    (base / "tokenizer_config.json").unlink()
    with pytest.raises(ValueError, match=r"^base .*base: its tokenizer has \d+ tokens for an encoder of \d+: the folder "
                                         r"has no tokenizer_config.json, .*\(\[UNK\], .*\); copy the encoder's "
                                         r"tokenizer_config.json into the folder$"):
        new_model(str(base), {"entities": {"kind": "ner", "labels": ["PER"]}}, shape_input=True)


def test_a_base_folder_with_a_larger_tokenizer_than_its_encoder_is_refused(tokenizer, tmp_path):
    """Before: an IndexError's traceback ("index out of range in self") at the first batch."""
    from transformers import BertConfig, BertModel
    from training.initial_model import new_model
    config = BertConfig(vocab_size=len(tokenizer) // 2 + 1, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64)
    BertModel(config, add_pooling_layer=False).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=rf"^base {tmp_path}: its tokenizer has {len(tokenizer)} tokens for an encoder "
                                         rf"of {config.vocab_size}: the tokenizer files are another encoder's$"):
        new_model(str(tmp_path), {"entities": {"kind": "ner", "labels": ["PER"]}}, shape_input=True)
