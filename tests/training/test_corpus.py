from training.corpus import DataError


def test_problems_are_shown_by_file_whose_path_may_hold_a_colon():
    files = ["C:\\data\\train.jsonl", "/runs/10:30/dev.jsonl"]   # a Windows drive; a folder named for its time
    err = DataError([f"{file}:{line}: invalid JSON" for file in files for line in range(1, 26)] +
                    [f"{files[1]}: no records"])
    lines = str(err).splitlines()   # before: every file "in C", or "in /runs/10", and the second never shown
    assert lines[0] == "51 problems:" and len(lines) == 1 + 2 * DataError.SHOWN + 2
    assert lines[DataError.SHOWN + 1] == f"{files[1]}:1: invalid JSON"
    assert lines[-2:] == [f"... and 5 more in {files[0]} (is its format the one given or guessed?)",
                          f"... and 6 more in {files[1]} (is its format the one given or guessed?)"]
