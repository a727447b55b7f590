import pytest

from training.config import TrainConfig


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_attention_dropout_must_be_a_probability(p):
    with pytest.raises(ValueError, match=rf"attention_dropout: {p} is not a probability in \[0, 1\)"):
        TrainConfig(train="train.jsonl", attention_dropout=p)


def test_attention_dropout_is_left_to_the_base_encoders_recipe_unless_given():
    assert TrainConfig(train="train.jsonl").attention_dropout is None
    assert TrainConfig(train="train.jsonl", attention_dropout=0.0).attention_dropout == 0.0
