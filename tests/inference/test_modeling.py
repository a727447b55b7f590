import pytest
from transformers import BertConfig, BertModel

from inference.manifest import TaskSpec
from inference.modeling import MultiTaskModel


@pytest.mark.parametrize("name", ["type", "pool_count", "pool_sum", "stance.v2", ""])
def test_a_task_name_the_model_cannot_keep_is_refused_by_name(name):
    # "type" is an attribute of torch's module dicts (a KeyError of torch's); "pool_count" is one
    # of forward's outputs, which the task's logits replaced (a crash at the first dev scoring)
    encoder = BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                   intermediate_size=16), add_pooling_layer=False)
    tasks = [TaskSpec("entities", "ner", ["O", "B-PER", "I-PER"]), TaskSpec(name, "single", ["a", "b"])]
    with pytest.raises(ValueError, match=f"^task name {name!r} .*: rename the task"):
        MultiTaskModel(encoder, tasks)
    assert MultiTaskModel(encoder, tasks[:1]).tasks.keys() == {"entities"}
