"""Check a training recipe (YAML) before TRL's parser reads it, so that a mistake is one line naming
the file, the line and the setting, not a traceback from deep inside argparse or the Trainer.

What is checked: YAML syntax; a mapping at the top; every key is a setting some argument class
knows (with the nearest known name suggested); numbers, booleans and choices have a usable value;
`mixture` / `eval_mixture` are lists of known source settings with numeric weights, unique labels
and references to labels that exist. What the argument classes check themselves (combinations of
settings) still comes from them, reported as one line by the caller.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from crosstrace.errors import DataError
from crosstrace.training.mixture import MixtureSource, parse_sources

MIXTURE_KEYS = ("mixture", "eval_mixture")
TRL_ONLY_KEYS = ("env",)  # read by TrlParser itself: environment variables to set
_CONVERTERS_CHECKED = {int, float}


def config_path(argv: Sequence[str]) -> Path | None:
    """The recipe named by `--config` on a command line, if any."""
    argv = list(argv)
    if "--config" in argv and argv.index("--config") + 1 < len(argv):
        return Path(argv[argv.index("--config") + 1])
    return None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _unknown(path: Path, key: yaml.Node, known: Sequence[str], what: str) -> DataError:
    close = difflib.get_close_matches(key.value, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"see `python train.py --help` for the {what}"
    return DataError(path, _line(key), str(key.value), f"unknown {what[:-1]}; {hint}")


def _load_node(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _check_value(path: Path, key: yaml.Node, value: yaml.Node, action: argparse.Action) -> None:
    if not isinstance(value, yaml.ScalarNode):
        if action.nargs in (None, "?"):
            raise DataError(path, _line(value), key.value, "expected a single value, got a list or mapping")
        return
    loaded = _load_node(value)
    if loaded is None:
        return
    converter = action.type
    if converter is bool or getattr(converter, "__name__", "") == "string_to_bool":
        if not isinstance(loaded, bool) and str(loaded).lower() not in ("yes", "no", "true", "false", "1", "0"):
            raise DataError(path, _line(value), key.value, f"expected true or false, got {loaded!r}")
        return
    if converter in _CONVERTERS_CHECKED:
        try:
            converter(loaded if not isinstance(loaded, bool) else "not a number")
        except (TypeError, ValueError):
            raise DataError(path, _line(value), key.value, f"expected a number, got {loaded!r}") from None
    if action.choices is not None and loaded not in action.choices and str(loaded) not in map(str, action.choices):
        raise DataError(path, _line(value), key.value, f"expected one of {list(action.choices)}, got {loaded!r}")


def _check_mixture(path: Path, key: yaml.Node, value: yaml.Node) -> None:
    name = key.value
    if not isinstance(value, yaml.SequenceNode):
        raise DataError(path, _line(key), name, "expected a list of datasets ({label, path, split, weight, ...})")
    if not value.value:
        if name == "mixture":
            raise DataError(path, _line(key), name, "is empty: list at least one dataset to train on")
        return
    known = [f.name for f in fields(MixtureSource)]
    entries = []
    for index, entry in enumerate(value.value):
        where = f"{name}[{index}]"
        if not isinstance(entry, yaml.MappingNode):
            raise DataError(path, _line(entry), where, "expected a mapping {label, path, split, weight, ...}")
        for entry_key, _ in entry.value:
            if entry_key.value not in known:
                error = _unknown(path, entry_key, known, "mixture settings")
                raise DataError(path, error.line, f"{where}.{entry_key.value}", error.reason)
        loaded = _load_node(entry)
        try:
            entries.append(MixtureSource.from_dict(loaded, index))
        except (TypeError, ValueError) as error:
            raise DataError(path, _line(entry), where, str(error)) from None
    try:
        parse_sources(entries)
    except ValueError as error:
        raise DataError(path, _line(key), name, str(error)) from None


def check_recipe(path: str | Path, parser: argparse.ArgumentParser) -> None:
    """Raise a DataError naming `path`, the line and the setting for the first mistake in the recipe."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, None, None, f"cannot read the recipe ({error})") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise DataError(path, mark.line + 1 if mark else None, None, f"not valid YAML: {problem}") from None
    if not isinstance(root, yaml.MappingNode):
        raise DataError(path, _line(root) if root else None, None, "expected a mapping of settings (key: value)")
    actions = {action.dest: action for action in parser._actions}
    known = sorted(set(actions) - {"help"}) + list(TRL_ONLY_KEYS)
    seen: set[str] = set()
    for key, value in root.value:
        if not isinstance(key, yaml.ScalarNode) or key.value not in known:
            raise _unknown(path, key, known, "settings")
        if key.value in seen:
            raise DataError(path, _line(key), key.value, "set twice in the recipe")
        seen.add(key.value)
        if key.value in MIXTURE_KEYS:
            _check_mixture(path, key, value)
        elif key.value in actions:
            _check_value(path, key, value, actions[key.value])
