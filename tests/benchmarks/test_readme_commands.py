"""The commands README.md and benchmarks/README.md quote, against the current command lines:
each option they name is one its script or `newsmodel` command still takes."""
import argparse
import importlib
import re

import pytest

from conftest import REPO

COMMAND = re.compile(r"(?:python (?:benchmarks/(?P<script>\w+)\.py|-m training (?P<module>\w+))"
                     r"|newsmodel (?P<command>\w+))(?P<rest>.*)")
OPTION = re.compile(r"(?<![\w-])--(\[no-\])?([a-z][a-z0-9-]*)")   # "[--epochs N]" too


def quoted_commands(path: str):
    """(command, the line of the file it is quoted on): fenced blocks line by line, comments cut;
    inline code whole, its line breaks read as spaces."""
    text = (REPO / path).read_text(encoding="utf-8")
    spans = []
    for block in re.finditer(r"```\w*\n(.*?)```", text, re.S):
        spans += [(line.split(" #")[0], line) for line in block.group(1).replace("\\\n", " ").splitlines()]
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for inline in re.finditer(r"`([^`]+)`", text):
        start = text.rfind("\n", 0, inline.start()) + 1
        spans.append((inline.group(1), text[start:text.find("\n", inline.end())]))
    for span, line in spans:
        match = COMMAND.match(" ".join(span.split()))
        if match:
            yield match, line


class Parsed(Exception):
    def __init__(self, parser):
        self.parser = parser


def options_of(match, monkeypatch) -> set[str]:
    """The option strings the quoted script or `newsmodel` command takes now."""
    if match["script"]:   # each script builds its parser in main(): stopped where it would parse
        monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
        def stop(parser, *_):
            raise Parsed(parser)
        monkeypatch.setattr(argparse.ArgumentParser, "parse_args", stop)
        with pytest.raises(Parsed) as parsed:
            importlib.import_module(match["script"]).main()
        parser = parsed.value.parser
    else:
        from training.cli import COMMANDS
        sub = argparse.ArgumentParser().add_subparsers()
        COMMANDS[match["module"] or match["command"]].add_parser(sub)
        [parser] = sub.choices.values()
    return set(parser._option_string_actions)


@pytest.mark.parametrize("path", ["README.md", "benchmarks/README.md"])
def test_every_option_a_quoted_command_names_is_taken(path, monkeypatch):
    """A flag renamed or dropped would leave the results' commands failing to parse; a command
    of code since reverted keeps its flag where its line says so."""
    unknown, checked = [], 0
    for match, line in quoted_commands(path):
        known = options_of(match, monkeypatch)
        for no, name in OPTION.findall(match["rest"]):
            checked += 1
            flags = [f"--{name}"] + ([f"--no-{name}"] if no else [])
            if not set(flags) <= known and "reverted in" not in line:
                unknown.append(f"{flags[0]} in `{match.group(0)[:120]}`")
    assert checked > (100 if path.startswith("benchmarks") else 10)   # the commands were found
    assert not unknown, "\n".join(unknown)
