"""What every reader shares (training/readers/_files.py)."""
import gzip
import json

import pytest

from training.config import TrainConfig
from training.corpus import DataError
from training.data import read_data


def test_a_compressed_file_is_named_as_such_not_as_bad_utf8(tmp_path):
    record = {"text": "Putin met Trump in Helsinki.", "stance": "neutral"}
    path = tmp_path / "train.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps(record).encode() + b"\n"))
    with pytest.raises(DataError) as err:
        read_data(TrainConfig(train=str(path)))
    # before: "train.jsonl.gz:1: not valid UTF-8 (...); re-save it as UTF-8"
    assert err.value.problems == [f"{path}: a file compressed with gzip; decompress it first"]
