"""One way to configure every command: dataclass arguments, `--config <yaml>`, command-line overrides.

Every command of the repository (`evaluate.py`, `upload.py`, `python -m crosstrace.builders ...` and the
helper modules of the README's command table) declares its options as dataclass fields with `help`
metadata and parses them here, with transformers' `HfArgumentParser` (`train.py` uses TRL's
`TrlParser`, the same style):

- a flag per field, spelt with `_` or `-` alike (`--max_new_tokens` = `--max-new-tokens`);
- `--config <yaml>`: a mapping of field names to values; flags given on the command line override it;
- an unknown YAML key or flag is an error that names it (and the closest known name), never ignored;
- a prefix of a flag is not taken for the flag (`allow_abbrev=False`): `--learning_rat` is an error;
- `--help` shows the command's docstring as written and every option's default.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import HfArgumentParser

CONFIG_FLAG = "--config"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help keeps the docstring's layout and shows each option's default."""


def make_parser(dataclass_types: type | Sequence[type], *, prog: str, description: str | None) -> HfArgumentParser:
    """The parser of one command: a flag per dataclass field, and `--config`."""
    from transformers import (
        HfArgumentParser,  # ~1 s: paid by a command that parses, not by importers of its dataclasses
    )

    types = list(dataclass_types) if isinstance(dataclass_types, Sequence) else [dataclass_types]
    parser = HfArgumentParser(
        types, prog=prog, description=description, formatter_class=HelpFormatter, allow_abbrev=False
    )
    parser.add_argument(
        CONFIG_FLAG,
        metavar="YAML",
        help="YAML file of option values (keys are the option names, e.g. max_new_tokens); flags override it",
    )
    return parser


def parse(parser: HfArgumentParser, argv: Sequence[str]) -> tuple[tuple[Any, ...], argparse.Namespace]:
    """(one instance per dataclass of the parser, the namespace: positional arguments added by the caller).

    Bad input exits through `parser.error` (status 2) with a message naming the key, flag or field."""
    argv = list(argv)
    config_path, argv = _pop_config(parser, argv)
    config_argv = _config_argv(parser, config_path) if config_path else []
    namespace, unknown = parser.parse_known_args(config_argv + argv)  # later flags win: the command line
    if unknown:
        parser.error(f"unknown argument(s) {' '.join(unknown)}{_suggestion(parser, unknown[0].lstrip('-'))}")
    instances = []
    for dtype in parser.dataclass_types:
        names = {f.name for f in dataclasses.fields(dtype) if f.init}
        try:
            instances.append(dtype(**{k: v for k, v in vars(namespace).items() if k in names}))
        except ValueError as error:  # a dataclass's own check (__post_init__) of the values
            parser.error(str(error))
    return tuple(instances), namespace


def parse_args(
    dataclass_types: type | Sequence[type], argv: Sequence[str], *, prog: str, description: str | None
) -> tuple[Any, ...]:
    """`make_parser` + `parse` for a command made of dataclass options only."""
    instances, _ = parse(make_parser(dataclass_types, prog=prog, description=description), argv)
    return instances


def run_command(
    arguments: type,
    run: Callable[[Any], int],
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str | None,
    errors: tuple[type[Exception], ...] = (),
) -> int:
    """The whole `main` of a helper command: parse `arguments` (`argv`, else the command line), return `run(args)`.

    An error of one of `errors` (bad input the user can fix) is printed as one line and exits with status 2."""
    (args,) = parse_args(arguments, sys.argv[1:] if argv is None else argv, prog=prog, description=description)
    try:
        return run(args)
    except errors as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _pop_config(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str | None, list[str]]:
    """The `--config` path (`--config x` or `--config=x`, the last one given) and the other arguments."""
    path, rest, index = None, [], 0
    while index < len(argv):
        arg = argv[index]
        if arg == CONFIG_FLAG:
            if index + 1 >= len(argv):
                parser.error(f"{CONFIG_FLAG} needs a YAML file")
            path, index = argv[index + 1], index + 2
            continue
        if arg.startswith(CONFIG_FLAG + "="):
            path = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        index += 1
    return path, rest


def _config_argv(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """The YAML's values as flags, so argparse converts and checks them exactly as typed ones.

    Values a flag cannot spell (null, mappings, lists for single-value options) become defaults instead."""
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        parser.error(f"{CONFIG_FLAG} {path}: cannot read it as YAML ({error})")
    if config is None:
        return []
    if not isinstance(config, dict):
        parser.error(
            f"{CONFIG_FLAG} {path}: expected a mapping of option names to values, got {type(config).__name__}"
        )
    actions = {action.dest: action for action in parser._actions if action.option_strings}
    argv: list[str] = []
    for key, value in config.items():
        name = str(key).replace("-", "_")
        action = actions.get(name)
        if action is None or name == "config" or name == "help":
            parser.error(f"{CONFIG_FLAG} {path}: unknown key {key!r}{_suggestion(parser, name)}")
        flag = f"--{name}"
        if isinstance(value, bool):
            argv.append(f"{flag}={str(value).lower()}")
        elif isinstance(value, (str, int, float)):
            argv.append(f"{flag}={value}")  # `=`: a value starting with '-' is not taken for a flag
        elif isinstance(value, list) and action.nargs == "+":
            argv += [flag, *map(str, value)]
        else:  # null, or a structure the option's own code reads (e.g. a list for a comma-separated option)
            parser.set_defaults(**{action.dest: value})
            action.required = False
    return argv


def _suggestion(parser: argparse.ArgumentParser, name: str) -> str:
    known = sorted({action.dest for action in parser._actions if action.option_strings} - {"help", "config"})
    close = difflib.get_close_matches(name.split("=", 1)[0].replace("-", "_"), known, n=1)
    return f" (did you mean --{close[0]}?)" if close else f"; known options: {', '.join(known)}"
