"""Every JSON text is parsed and every non-ASCII JSON text written through crosstrace/jsonio.py.

`jsonio.loads` turns what `json.loads` lets escape (RecursionError on deep nesting, ValueError on a
5,000-digit integer, both naming no file) into errors naming file and line, and `jsonio.dumps` writes
lone surrogates so that the file can be encoded. A module calling `json.loads`/`json.load` or
`json.dumps(..., ensure_ascii=False)` itself would reopen those holes: this test finds any (with `ast`,
so lazy imports and aliases count too). bench/ is left out: it reads only what it wrote itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from crosstrace.errors import DataError
from crosstrace.jsonio import MAX_DEPTH, MAX_INTEGER_DIGITS, InvalidJSON, dumps, iter_jsonl, loads, read_json

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [*(ROOT / "crosstrace").rglob("*.py"), *(ROOT / "metrics").rglob("*.py"), *(ROOT / "lm_eval_tasks").rglob("*.py")]
    + [ROOT / name for name in ("train.py", "evaluate.py", "upload.py")]
)
JSONIO = ROOT / "crosstrace" / "jsonio.py"


def _json_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of each json.loads/json.load call and each ensure_ascii=False keyword."""
    aliases = {"json"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname for a in node.names if a.name == "json" and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "json":
            found += [(node.lineno, f"from json import {a.name}") for a in node.names if a.name in ("load", "loads")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("load", "loads")
                and isinstance(func.value, ast.Name)
                and func.value.id in aliases
            ):
                found.append((node.lineno, f"json.{func.attr}"))
            for keyword in node.keywords:
                if (
                    keyword.arg == "ensure_ascii"
                    and isinstance(keyword.value, ast.Constant)
                    and not keyword.value.value
                ):
                    found.append((node.lineno, "ensure_ascii=False"))
    return found


def test_no_module_parses_or_writes_json_around_jsonio():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in SOURCES
        if path != JSONIO
        for line, what in _json_calls(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, "use crosstrace.jsonio (loads, read_json, iter_jsonl, dumps) instead:\n" + "\n".join(
        offenders
    )


def test_the_guard_finds_each_form():
    source = "import json as j\nfrom json import loads\nj.loads(t)\njson.dumps(v, ensure_ascii=False)\n"
    assert [what for _, what in _json_calls(ast.parse(source))] == [
        "from json import loads",
        "json.loads",
        "ensure_ascii=False",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than"),  # json itself: RecursionError
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper than"),  # parses, refused after
        ('{"a": ' + "7" * 5_000 + "}", "an integer of 5000 digits"),  # json itself: ValueError
        ("-" + "9" * (MAX_INTEGER_DIGITS + 1), f"an integer of {MAX_INTEGER_DIGITS + 1} digits"),
    ],
    ids=["recursion", "depth", "int-limit", "overflow"],
)
def test_loads_refuses_what_json_lets_escape(text, reason):
    with pytest.raises(InvalidJSON, match=reason):
        loads(text)
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None and loads("9" * MAX_INTEGER_DIGITS) > 0


def test_readers_name_file_and_line_for_deep_nesting_and_huge_integers(tmp_path):
    """Defect 6 (issue 11): these escaped every reader as RecursionError/ValueError naming no file."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match=r"deep\.json: nested deeper than"):
        read_json(deep)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n{"a": ' + "1" * 5_000 + "}\n")
    with pytest.raises(DataError, match=r"rows\.jsonl:2: an integer of 5000 digits"):
        list(iter_jsonl(rows))


def test_dumps_writes_lone_surrogates_as_escapes_and_nothing_else_changes():
    """Defect 2 (issue 11): json.dumps(..., ensure_ascii=False) leaves "\\ud800" raw, which UTF-8 cannot encode."""
    import json

    value = {"answer": "x\ud800y", "other": "é\u2028😀"}
    text = dumps(value)
    text.encode("utf-8")  # would raise UnicodeEncodeError with a raw surrogate
    assert loads(text) == value
    assert dumps({"other": "é\u2028😀"}) == json.dumps({"other": "é\u2028😀"}, ensure_ascii=False)
