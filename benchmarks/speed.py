"""CPU speed: our predict_batch (entities + topic + stance in one pass) against the
transformers token-classification pipeline running the exported NER weights alone.

Each system runs in its own process on the same articles (its peak RSS is its process's
VmHWM, which starts afresh at exec, unlike ru_maxrss, which a child inherits from its parent):
the articles of a JSON-lines file repeated --repeat times, plus whole long articles.
Every process loads and warms up first; then each round times every system once over all
the articles, one after another (each round starting with the next system), for --rounds
rounds. So the systems share the same stretch of time, and a slow spell on the machine slows
them alike instead of skewing the ratio.
words/s is each system's median round, what a long-running service sees; the first round
and the range of per-round ratios are printed too.
`--tuned-malloc` runs every system's process with glibc's malloc told to keep freed memory
(MALLOC_TUNING below): by default every large tensor is a fresh mmap whose pages fault in
again, which slows a first pass over new shapes. PyTorch's CPU performance guide recommends a
caching allocator (jemalloc, tcmalloc) for the same reason; these settings need nothing installed.

    python benchmarks/speed.py --checkpoint checkpoints/news
    python benchmarks/speed.py --checkpoint checkpoints/news --quantize   # also int8, with its accuracy cost
    python benchmarks/speed.py --checkpoint checkpoints/news --onnx --quantize   # and ONNX Runtime (fp32, int8)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from inference import default_checkpoint, load
from inference.runtimes import missing_onnx_modules
from training.readers._files import read_utf8

ROOT = Path(__file__).resolve().parents[1]


# glibc reads these at start-up: serve tensors of up to 256 MB from the heap, and give memory back
# to the system only when 512 MB lie free at its top
MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(512 << 20)}

# our systems: the keyword arguments of inference.load that make each; "ours" is load(path) as a
# user calls it, in the runtime the checkpoint chose (see inference.runtimes). Each loads on the
# CPU, as the pipeline runs: on a machine with a GPU, "auto" would time a GPU against a CPU.
VARIANTS = {"ours": {}, "ours-fp32": {"runtime": "torch", "quantize": False}, "ours-int8": {"quantize": True},
            "ours-onnx": {"runtime": "onnx", "quantize": False}, "ours-onnx-int8": {"runtime": "onnx", "quantize": True}}


def load_articles(args, long: list[Path]) -> list[str]:
    texts = common.jsonl_texts(args.articles)
    if args.limit:
        texts = texts[:args.limit]
    return texts * args.repeat + [read_utf8(path) for path in long]


def serve_system(args) -> None:
    """One system in this process: read the articles (a JSON list, the first line on stdin), load and
    warm up, then time a pass over all articles for each `round` line on stdin; on `finish`,
    measure per-article latency and print the summary."""
    import torch
    torch.set_num_threads(args.threads)
    texts = json.loads(sys.stdin.readline())   # the parent's reading of the articles: every system times the same
    words = sum(len(t.split()) for t in texts)
    runtime = None   # ours: what the timed model runs, a chosen ONNX runtime that failed here being fp32 PyTorch
    if args.system in VARIANTS:
        model = load(args.checkpoint, device="cpu", **VARIANTS[args.system])
        runtime = model.runtime
        model.predict_batch(texts[:4])  # warm-up
        run_all = lambda: model.predict_batch(texts, batch_size=args.batch_size, max_tokens=args.max_tokens)
        run_one = model.predict
    else:
        from transformers import pipeline
        pipe = pipeline("token-classification", model=args.exported, aggregation_strategy="first",
                        stride=args.stride, device=-1)
        pipe(texts[:4])
        run_all = lambda: [pipe(t) for t in texts]
        run_one = pipe
    reply({"ready": True})
    rounds = []
    for command in sys.stdin:
        if command.strip() == "round":
            start = time.perf_counter()
            run_all()
            rounds.append(time.perf_counter() - start)
            reply({"seconds": rounds[-1]})
        elif command.strip() == "finish":
            break
    else:
        return  # stdin closed without `finish`: the parent is gone
    latencies = []
    for text in texts[:args.latency_articles]:
        t0 = time.perf_counter()
        run_one(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    seconds = statistics.median(rounds)
    reply({"system": args.system, "runtime": runtime, "articles": len(texts), "words": words, "seconds": round(seconds, 3),
           "rounds": rounds, "words_per_second": round(words / seconds, 1),
           "first_round_words_per_second": round(words / rounds[0], 1),
           "p50_ms": round(pct(0.5), 1), "p95_ms": round(pct(0.95), 1),
           "peak_rss_mb": common.peak_rss_mb()})


def reply(message: dict) -> None:
    print(json.dumps(message), flush=True)


class SystemProcess:
    """A `--system` child: its replies are the JSON lines it prints (libraries may print other lines)."""

    def __init__(self, system: str, exported: str, env: dict, texts: list[str]):
        cmd = [sys.executable, __file__, "--system", system, "--exported", exported] + sys.argv[1:]
        self.name = system
        self.log = tempfile.TemporaryFile(mode="w+")  # stderr: progress bars and warnings, shown on failure
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, env=env)
        try:
            self.proc.stdin.write(json.dumps(texts) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass   # it ended before reading them: read() says how
        self.read()  # ready

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        self.log.seek(0)
        raise SystemExit(f"speed.py: the {self.name} process ended with status {self.proc.wait()}:\n{self.log.read()[-4000:]}")

    def finish(self) -> dict:
        summary = self.ask("finish")
        self.proc.wait()
        return summary

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.log.close()


def time_systems(args, systems: list[str], exported: str, texts: list[str]) -> dict[str, dict]:
    """Every system's summary; each round starts with a different system, so none always goes first."""
    env = {**os.environ, **MALLOC_TUNING} if args.tuned_malloc else os.environ
    processes = []
    try:
        for system in systems:
            processes.append(SystemProcess(system, exported, env, texts))
        for r in range(args.rounds):
            for process in processes[r % len(processes):] + processes[:r % len(processes)]:
                process.ask("round")
        return {process.name: process.finish() for process in processes}
    finally:
        for process in processes:
            process.close()


def annotated_articles(args, manifest) -> list | None:
    """The articles as timed, read with the checkpoint's tasks (a bad annotation named before any
    timing), or None when they annotate none of them: no accuracy to measure."""
    from training.corpus import annotated_tasks
    from training.readers import read_jsonl
    from training.schema import schema_of
    docs = common.head(read_jsonl(args.articles, schema_of(manifest.tasks)), args.limit)
    if not annotated_tasks(docs):
        print(f"note: {args.articles} annotates none of the checkpoint's tasks: no accuracy measured", file=sys.stderr)
        return None
    return docs


def accuracy_cost(args, systems: list[str], docs: list) -> dict:
    """Each task's main figure on the articles for each of our variants, for the price of quantization."""
    from training.evaluation import evaluate
    from training.metrics import main_figure
    out = {}
    for name in systems:
        model = load(args.checkpoint, device="cpu", **VARIANTS[name])
        out[name] = {task: round(main_figure(m), 4) for task, m in evaluate(model, docs).items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()),
                        help="the checkpoint timed (default: $NEWSMODEL_CHECKPOINT, else checkpoints/news)")
    parser.add_argument("--articles", default=str(ROOT / "data" / "test.jsonl"), help="JSON lines with a 'text' field")
    parser.add_argument("--repeat", type=int, default=4,
                        help="times each article of --articles is timed (0: the --long ones alone)")
    parser.add_argument("--limit", type=common.positive, help="use only the first N articles (smoke runs)")
    parser.add_argument("--long", nargs="*", default=[str(ROOT / "data" / "example_article.txt"),
                                                       str(ROOT.parent / "shared" / "examples" / "summit_article.txt")],
                        help="plain-text articles timed whole once each, after --articles (default: the example and "
                             "summit articles; one not there is left out with a note; none: give --long alone)")
    parser.add_argument("--batch-size", type=common.positive, default=16,
                        help="ours: windows per encoder batch, at most")
    parser.add_argument("--max-tokens", type=common.positive, default=1024,
                        help="ours: padded tokens per encoder batch, at most")
    parser.add_argument("--stride", type=int, default=128,
                        help="pipeline: tokens each window shares with the one before (0: none)")
    parser.add_argument("--threads", type=common.positive, default=2,
                        help="torch threads of every system's process, named in the line's device (default: 2)")
    parser.add_argument("--latency-articles", type=common.positive, default=40,
                        help="p50 / p95 ms: each system's latency over the first N articles, one at a time")
    parser.add_argument("--rounds", type=int, default=5,
                        help="time every system this many times over all articles; words/s is the median round")
    parser.add_argument("--quantize", action="store_true", help="also time our int8 model and measure its accuracy cost")
    parser.add_argument("--onnx", action="store_true",
                        help="also time ONNX Runtime (int8 too with --quantize); needs the onnx extra")
    parser.add_argument("--tuned-malloc", action="store_true", help="run every system with MALLOC_TUNING (see above)")
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--exported", help=argparse.SUPPRESS)
    args = common.parse_args(parser)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.repeat < 0:
        parser.error("--repeat must be at least 0")
    if args.stride < 0:
        parser.error("--stride must be at least 0")
    if args.system:
        serve_system(args)
        return
    if args.onnx and (missing := missing_onnx_modules()):   # else met by its system process, as a traceback
        parser.error(f"--onnx needs the onnx extra: {' and '.join(missing)} not installed (pip install -e \".[onnx]\")")

    # a folder named by option (the missing default summit article is noted below, not refused)
    common.refuse_missing_inputs([("--long", path) for path in args.long if Path(path).exists()])
    long = [Path(path) for path in args.long if Path(path).exists()]
    for i, path in enumerate(long):   # else timed twice, under a split naming it twice
        if any(os.path.realpath(path) == os.path.realpath(earlier) for earlier in long[:i]):
            parser.error(f"--long {path} is given twice: give each article once")
    for path in args.long:   # the default summit article lies outside the checkout: said, not failed on
        if not Path(path).exists():
            print(f"note: --long {path} is not there; timing without it", file=sys.stderr)
    with common.one_line_errors():   # read once, here: a bad line is named before the export, not by a child process
        texts = load_articles(args, long)
    if not texts:
        parser.error("no article to time: --repeat 0 times the --long articles alone, and none is there")
    common.refuse_no_checkpoint(args.checkpoint)   # after the inputs' own checks
    from inference.export import export_ner
    from inference.runtimes import choose
    with tempfile.TemporaryDirectory() as tmp:
        with common.one_line_errors():   # a missing or damaged checkpoint, a bad annotation: one line
            fp32 = load(args.checkpoint, device="cpu", **VARIANTS["ours-fp32"])
            ner = [task.name for task in fp32.manifest.tasks if task.kind == "ner"]
            if not ner:
                parser.error(f"{args.checkpoint} has no NER task: the transformers pipeline timed against it is a "
                             "token classifier")
            scored = annotated_articles(args, fp32.manifest)
        window = fp32.tokenizer.model_max_length - fp32.tokenizer.num_special_tokens_to_add()
        if args.stride >= window:   # else the tokenizer panics in the pipeline's process, after the export
            parser.error(f"--stride {args.stride}: the pipeline's windows hold {window} tokens; give a smaller overlap")
        export_ner(fp32, ner[0], tmp)
        chosen = choose(fp32.manifest.runtimes)[0]
        systems = ["pipeline", "ours"] + (["ours-fp32"] if chosen != "torch" else []) + \
            (["ours-int8"] if args.quantize else []) + \
            (["ours-onnx"] if args.onnx else []) + (["ours-onnx-int8"] if args.onnx and args.quantize else [])
        results = time_systems(args, systems, tmp, texts)
    print_table(args, results, [task.name for task in fp32.manifest.tasks], ner[0])
    base = results["pipeline"]["words_per_second"]
    # --repeat 0 times the --long articles alone: the split names them, not --articles
    split = Path(args.articles).name if args.repeat else " + ".join(names_apart(long))
    # the runtime "ours" ran in its process: the checkpoint's choice, or fp32 PyTorch where an ONNX one failed there
    line = {"benchmark": "speed", "system": "ours", "split": split, "runtime": results["ours"]["runtime"],
            "words_per_second": results["ours"]["words_per_second"],
            "pipeline_words_per_second": base,
            "ratio": round(results["ours"]["words_per_second"] / base, 2),
            "p50_ms": results["ours"]["p50_ms"], "p95_ms": results["ours"]["p95_ms"],
            "peak_rss_mb": results["ours"]["peak_rss_mb"], "rounds": args.rounds,
            "malloc": "tuned" if args.tuned_malloc else "default", "batch_size": args.batch_size,
            "latency_articles": args.latency_articles,
            "max_tokens": args.max_tokens, "stride": args.stride, "device": f"cpu ({args.threads} threads)",
            "articles": results["ours"]["articles"], "words": results["ours"]["words"], "repeat": args.repeat,
            "limit": args.limit, "train_seconds": None}
    variants = [name for name in results if name != "pipeline"]
    for name in variants[1:]:
        prefix = name.removeprefix("ours-").replace("-", "_")
        line[f"{prefix}_words_per_second"] = results[name]["words_per_second"]
        line[f"{prefix}_ratio"] = round(results[name]["words_per_second"] / base, 2)
        line[f"{prefix}_p50_ms"] = results[name]["p50_ms"]
    for name in variants:
        prefix = "" if name == "ours" else name.removeprefix("ours-").replace("-", "_") + "_"
        line[f"{prefix}ratio_per_round"] = [round(r, 2) for r in round_ratios(results, name)]
    line["accuracy"] = scored and accuracy_cost(args, variants if len(variants) > 1 else ["ours", "ours-fp32"], scored)
    print(json.dumps(line))


def names_apart(paths: list[Path]) -> list[str]:
    """Each path by its name, or by as many of its last parts as tell the paths apart (two files
    long.txt in folders a and b: a/long.txt, b/long.txt)."""
    for parts in range(1, max((len(p.parts) for p in paths), default=0) + 1):
        names = ["/".join(p.parts[-parts:]) for p in paths]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


def print_table(args, results: dict, tasks: list[str], exported: str) -> None:
    """The comparison as a table, on stderr: stdout carries the JSON line alone."""
    say = lambda line: print(line, file=sys.stderr)
    base = results["pipeline"]["words_per_second"]
    say(f"{'system':<15} {'words/s':>9} {'1st round':>10} {'p50 ms':>8} {'p95 ms':>8} {'peak RSS MB':>12} {'ratio':>6}")
    for name, r in results.items():
        say(f"{name:<15} {r['words_per_second']:>9.1f} {r['first_round_words_per_second']:>10.1f} {r['p50_ms']:>8.1f} "
            f"{r['p95_ms']:>8.1f} {r['peak_rss_mb']:>12.1f} {r['words_per_second'] / base:>6.2f}")
    say(f"{results['ours']['articles']} articles, {results['ours']['words']} words, {args.threads} threads, "
        f"median of {args.rounds} interleaved rounds, {'tuned' if args.tuned_malloc else 'default'} malloc; "
        f"ours = {' + '.join(tasks)}, pipeline = {exported} only")
    for name in results:
        if name != "pipeline":
            ratios = round_ratios(results, name)
            say(f"{name}: ratio per round {min(ratios):.2f} to {max(ratios):.2f}")


def round_ratios(results: dict, name: str) -> list[float]:
    """Our words/s over the pipeline's, round by round (same articles, so a ratio of times)."""
    return [p / o for p, o in zip(results["pipeline"]["rounds"], results[name]["rounds"])]


if __name__ == "__main__":
    main()
