import itertools

import numpy as np
import torch

from inference.decoding import bio_transitions, valid_bio_paths
from inference.windows import IGNORE
from training.objective import FORBIDDEN, crf_loss

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def _brute_force_nll(emissions, tags, scores):
    """-log P(tags) by enumerating every tag sequence."""
    def score(path):
        return emissions[range(len(path)), path].sum() + sum(scores[a, b] for a, b in zip(path, path[1:]))
    log_z = torch.logsumexp(torch.stack([score(list(p)) for p in itertools.product(range(len(TAGS)),
                                                                                   repeat=len(tags))]), 0)
    return log_z - score(tags)


def test_crf_loss_is_the_negative_log_likelihood_per_labelled_word():
    torch.manual_seed(0)
    logits = torch.randn(2, 7, len(TAGS))
    transitions = torch.randn(len(TAGS), len(TAGS))
    allowed = torch.tensor(bio_transitions(tuple(TAGS))[0])
    # window 0: words at subwords 1, 3, 4 (the rest are later subwords or special tokens);
    # window 1: words at 2, 5; window 1 opens inside a name (I-PER), as a window may
    target = torch.full((2, 7), IGNORE)
    target[0, [1, 3, 4]] = torch.tensor([1, 2, 0])
    target[1, [2, 5]] = torch.tensor([2, 0])
    scores = transitions + torch.where(allowed, 0.0, FORBIDDEN)
    expected = (_brute_force_nll(logits[0, [1, 3, 4]], [1, 2, 0], scores)
                + _brute_force_nll(logits[1, [2, 5]], [2, 0], scores)) / 5
    assert torch.allclose(crf_loss(logits, target, transitions, allowed), expected, atol=1e-5)


def test_crf_loss_skips_windows_without_labels_and_trains_the_transitions():
    logits = torch.randn(2, 4, len(TAGS), requires_grad=True)
    transitions = torch.zeros(len(TAGS), len(TAGS), requires_grad=True)
    allowed = torch.tensor(bio_transitions(tuple(TAGS))[0])
    target = torch.full((2, 4), IGNORE)
    target[1, 1:3] = torch.tensor([1, 2])
    loss = crf_loss(logits, target, transitions, allowed)
    loss.backward()
    assert torch.isfinite(loss)
    assert logits.grad[0].abs().sum() == 0 and logits.grad[1].abs().sum() > 0
    assert transitions.grad[1, 2] < 0   # the gold B-PER -> I-PER transition is pushed up


def test_viterbi_adds_the_transition_scores():
    p = np.array([[0.1, 0.5, 0.1, 0.2, 0.1], [0.4, 0.1, 0.1, 0.35, 0.05]])
    assert valid_bio_paths([p], TAGS)[0].tolist() == [1, 0]
    bonus = np.zeros((len(TAGS), len(TAGS)))
    bonus[1, 3] = 1.0   # B-PER -> B-LOC made likelier than B-PER -> O
    assert valid_bio_paths([p], TAGS, transitions=bonus)[0].tolist() == [1, 3]
