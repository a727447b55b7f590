"""Training: readers of annotated files, the trainer, evaluation and the command line."""
import inference  # noqa: F401  (sets HF_HUB_OFFLINE before anything here imports transformers)
