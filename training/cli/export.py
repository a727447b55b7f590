"""`newsmodel export`: an NER task as a standard Hugging Face token classifier."""
from __future__ import annotations

from .checkpoints import add_checkpoint_argument, checkpoint_path, open_checkpoint, readable_manifest


def add_parser(sub) -> None:
    x = sub.add_parser("export", help="write an NER task as a standard Hugging Face token classifier")
    add_checkpoint_argument(x)
    x.add_argument("--task", default="entities", help="the NER task to export (default: entities)")
    x.add_argument("--output", required=True, help="folder to write (a new one, an empty one or an earlier export, "
                                                   "not inside a checkpoint)")


def run(args) -> int:
    path = checkpoint_path(args.checkpoint)   # before transformers is imported, which takes seconds
    from inference.folders import check_export_output
    check_export_output(args.output, "--output")   # before the checkpoint loads, and transformers is imported
    from inference.export import export_ner, ner_task
    if (manifest := readable_manifest(path)) is not None:   # before the weights load
        try:   # the default checkpoint is not named on the command line
            ner_task(manifest, args.task)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    print(export_ner(open_checkpoint(path, runtime="torch", quantize=False, device="cpu"), args.task, args.output))
    return 0
