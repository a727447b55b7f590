"""Score and time every CPU runtime this machine has on the dev split, for the manifest: what
`load(path)` chooses its default runtime from (inference.runtimes)."""
from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

from inference.predictor import NewsModel
from inference.runtimes import BUGS, REFERENCE, RUNTIMES, available

from .corpus import Document
from .evaluation import evaluate
from .metrics import main_figure

# dev words timed: a stable rate, bounded on big dev sets. Scores read all of dev: on a sample this
# size two CoNLL-2003 checkpoints scored int8 0.17 above and 0.05 below fp32, where the whole split
# put it 0.22 and 0.50 below.
MEASURED_WORDS = 20_000
# A dev set shorter than this is timed repeated up to it: a pass over 130 words lasts milliseconds,
# and a runtime with less overhead per call came out 6.6x faster (the bundled dev set is longer).
MIN_TIMED_WORDS = 3_000
PASSES = 3


def measure_runtimes(checkpoint: str | Path, dev: list[Document], log) -> dict:
    """{runtime: {"dev": {task: main figure on all of dev}, "words_per_second": median of PASSES
    passes over the first MEASURED_WORDS words of dev (at least MIN_TIMED_WORDS, dev repeated), the
    runtimes timed in turns, so all held in memory at once}},
    every runtime on the same documents (one that cannot be built here, as an ONNX export that
    fails, left out with a warning); {} where dev has no word to time."""
    timed, words = [], 0
    for doc in dev:
        if words >= MEASURED_WORDS:
            break
        timed.append(doc)
        words += len(doc.text.split()) + len((doc.text_pair or "").split())
    if not words:   # nothing to time a rate on: no figures, so load() runs fp32 PyTorch
        log("runtimes not measured: dev has no words to time")
        return {}
    repeats = -(-MIN_TIMED_WORDS // words)
    texts, pairs = [d.text for d in timed] * repeats, [d.text_pair for d in timed] * repeats
    models, scores = {}, {}
    for name in available():
        try:
            model = NewsModel.load(checkpoint, device="cpu", **RUNTIMES[name])
        except BUGS:   # not a warning
            raise
        except Exception as exc:   # an ONNX export failing here: without figures, load() runs another
            if name == REFERENCE:
                raise
            log(f"warning: runtime {name} not measured: it could not be built here ({type(exc).__name__}: {exc}); "
                "load() will not choose it")
            continue
        scores[name] = {task: round(float(main_figure(m)), 6) for task, m in evaluate(model, dev).items()}
        models[name] = model
    # The runtimes take turns pass by pass, each round in another order: the machine's speed drifting
    # during the measurement moves every runtime alike, not the one timed last. Timed one after another,
    # the bundled run's int8 speed-up read 1.21x, 1.06x and 0.99x on three runs of one machine.
    names, seconds = list(models), {name: [] for name in models}
    with warnings.catch_warnings():   # a pair task's dev beside other tasks' holds texts without pairs
        warnings.filterwarnings("ignore", "the pair task")
        for model in models.values():
            model.predict_batch(texts[:8], pairs=pairs[:8])   # warm-up
        for round_ in range(PASSES):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                start = time.perf_counter()
                models[name].predict_batch(texts, pairs=pairs)
                seconds[name].append(time.perf_counter() - start)
    figures = {}
    for name in models:
        rate = words * repeats / statistics.median(seconds[name])
        # one decimal, but never 0.0, which the manifest refuses (the checkpoint would not load)
        figures[name] = {"dev": scores[name], "words_per_second": round(rate, 1) or rate}
        log(f"runtime {name}: {figures[name]['words_per_second']:.0f} words/s on dev, "
            + ", ".join(f"{task} {value:.4f}" for task, value in scores[name].items()))
    return figures
