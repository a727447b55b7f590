import numpy as np
import torch

from inference.lexical import Lexicon
from inference.modeling import MultiTaskModel
from training.corpus import Document
from training.lexical_fit import fit_lexical_heads, fit_lexicon, flag_tasks, sparse_features
from training.schema import task_specs

DOCS = [Document(t, labels={"topic": l, "stance": [s]}, text_pair=p) for t, l, s, p in [
    ("Oil prices rose as OPEC cut output.", ["trade"], "unrelated", "Football scores."),
    ("Wheat exports fell sharply.", ["trade", "grain"], "agree", "Wheat exports fell, traders said."),
    ("Oil and gas talks in Vienna.", ["energy"], "discuss", "Vienna talks on oil and gas go on."),
    ("Grain harvest hit by drought.", ["grain"], "unrelated", "A new phone was launched."),
    ("Gas pipeline deal signed.", ["energy", "trade"], "agree", "The gas pipeline deal was signed."),
    ("Wheat and grain prices up.", ["grain"], "discuss", "Analysts discuss grain prices."),
]]
SCHEMA = {"topic": {"kind": "multi", "labels": ["energy", "grain", "trade", "cyber"]},
          "stance": {"kind": "pair", "labels": ["agree", "discuss", "unrelated"]}}


def model_with_lexicon(tiny_base):
    from transformers import AutoModel
    tasks = task_specs(SCHEMA)
    flag_tasks(tasks, lexical=True, gate_label="unrelated")
    lexicon = fit_lexicon(DOCS, 500)
    model = MultiTaskModel(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False), tasks,
                           lexicon_size=len(lexicon))
    fit_lexical_heads(model, DOCS, lexicon, log=lambda m: None)
    return model, lexicon


def test_heads_start_as_the_fitted_regressions_and_stay_fixed(tiny_base):
    from sklearn.linear_model import LogisticRegression
    model, lexicon = model_with_lexicon(tiny_base)
    assert model.tasks["stance"].gate == "unrelated" and model.tasks["topic"].gate is None
    x = sparse_features(lexicon, DOCS, pair=False)
    reference = LogisticRegression(C=30.0, class_weight="balanced", max_iter=2000).fit(
        x, [("grain" in d.labels["topic"]) for d in DOCS])
    features = {"text": Lexicon(lexicon.vocabulary, lexicon.idf).features([d.text for d in DOCS]),
                "pair": lexicon.features([d.text for d in DOCS], [d.text_pair for d in DOCS])}
    model.eval()
    logits = model.document_logits(torch.zeros((len(DOCS), model.encoder.config.hidden_size)), features)
    np.testing.assert_allclose(logits["topic"][:, 1].detach(), reference.decision_function(x), rtol=1e-4, atol=1e-4)
    assert (logits["topic"][:, 3] < -9).all()                  # "cyber" never occurs: improbable
    stance = logits["stance"].exp()                             # a gated head gives log-probabilities
    np.testing.assert_allclose(stance.sum(1).detach(), 1.0, rtol=1e-5)
    assert not model.lexical["topic"].requires_grad and not model.gates["stance"].requires_grad
    gate_says_unrelated = stance[:, 2] > 0.5
    assert gate_says_unrelated.tolist() == [d.labels["stance"] == ["unrelated"] for d in DOCS]


def test_a_gated_task_trains_the_encoder_on_the_other_labels_only(tiny_base):
    from transformers import AutoTokenizer
    from training.dataset import TrainingSet
    model, lexicon = model_with_lexicon(tiny_base)
    tasks = list(model.tasks.values())
    only_stance = [Document(d.text, labels={"stance": d.labels["stance"]}, text_pair=d.text_pair) for d in DOCS]
    examples = TrainingSet(only_stance, AutoTokenizer.from_pretrained(tiny_base), tasks, 64, 16, lexicon)
    assert [d.labels["stance"][0] for d in examples.docs] == ["agree", "discuss", "agree", "discuss"]
    batch = examples.batch(list(range(len(examples))))
    assert batch["inputs"]["lexical"]["pair"].shape == (len(examples), 2 * len(lexicon) + 1)
    out = model(**batch["inputs"])
    assert torch.isfinite(out["stance"]).all()


