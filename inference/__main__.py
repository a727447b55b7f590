"""`python -m inference`: the package has no command line of its own; this says which one predicts."""
import sys

print("error: the inference package has no command line of its own: predict with `newsmodel predict` "
      "(or `python -m training predict`; --help lists its options)", file=sys.stderr)
sys.exit(2)
