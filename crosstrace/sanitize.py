"""What must never leave this machine in a published file: secrets and local absolute paths.

One set of patterns serves both sides of publishing: `find_secrets` / `find_local_paths`
(the checks, which refuse a stage; `secret_matches` / `local_path_matches` give character offsets
instead of lines, for scanners that read a file in pieces) and `strip_local_paths` (the staging, which rewrites the
paths it knows how to rewrite, e.g. in a resolved recipe, and says how many it rewrote).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from crosstrace.paths import REPO_ROOT

# Credentials by their published formats. Each pattern is anchored on a prefix a credential
# issuer documents, long enough that ordinary prose does not match it.
SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "OpenAI/Anthropic-style API key": re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "private key block": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    # `api_key = "..."`, `"token": "..."` and the like: a credential-looking name bound to a long
    # opaque value. Values with spaces (prose) or placeholders like <your-key> do not match.
    "credential assignment": re.compile(
        r"""(?ix)
        \b(?:api[_-]?key|access[_-]?key|secret[_-]?key|client[_-]?secret|auth[_-]?token|access[_-]?token|password|passwd)
        ["']?\s*[:=]\s*["']?
        (?=[A-Za-z0-9_\-+/]*[0-9])(?=[A-Za-z0-9_\-+/]*[A-Za-z])   # a real key mixes letters and digits
        [A-Za-z0-9_\-+/]{16,}
        """
    ),
}

# An absolute path on a developer machine: Unix roots that only exist locally, a Windows drive,
# or a file:// URL. The look-behind keeps URLs (https://host/home/...) and relative paths
# (../shared/data) from matching.
_UNIX_ROOTS = (
    r"(?:home|root|work|tmp|Users|mnt|media|scratch|opt|srv|var/folders|private/var|data|content|workspace|kaggle)"
)
_PATH_TAIL = r"""[^\s"'`<>|;,()\[\]{}]*"""  # the rest of a path: up to whitespace, a quote or punctuation
LOCAL_PATH_PATTERN = re.compile(
    rf"""(?x)
    (?:file://)?(?<![\w.~/:-])/{_UNIX_ROOTS}(?:/{_PATH_TAIL})?(?=$|[\s"'`<>|;,()\[\]{{}}])
    | (?<![\w\\])[A-Za-z]:\\{{1,2}}[^\s"'`<>|;,()\[\]{{}}]+
    | file:///[^\s"'`<>]+
    """
)


@dataclass(frozen=True)
class Finding:
    """One match in one file: what kind, where (1-based line, or a row/field label), and a redacted excerpt."""

    kind: str
    where: str
    excerpt: str


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _redact(secret: str) -> str:
    # Enough to find it again, not enough to use it.
    return secret[:6] + "…" if len(secret) > 6 else "…"


# Cheap tests that must succeed before a pattern can match: substring searches run at memory
# speed, a regex pass over a large dataset does not (about 7 MB/s per pattern, measured).
# Each gets the text and its lower-case copy.
_SECRET_TRIGGERS: dict[str, Callable[[str, str], bool]] = {
    "Hugging Face token": lambda t, low: "hf_" in t,
    "OpenAI/Anthropic-style API key": lambda t, low: "sk-" in t,
    "GitHub token": lambda t, low: any(
        prefix in t for prefix in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
    ),
    "AWS access key id": lambda t, low: "AKIA" in t or "ASIA" in t,
    "Google API key": lambda t, low: "AIza" in t,
    "Slack token": lambda t, low: "xox" in t,
    "private key block": lambda t, low: "PRIVATE KEY" in t,
    "credential assignment": lambda t, low: any(name in low for name in ("key", "secret", "token", "passw")),
}
_PATH_TRIGGER = re.compile(rf"/{_UNIX_ROOTS}|[A-Za-z]:\\|file://")


@dataclass(frozen=True)
class Match:
    """One match at a character offset of a text: what `find_*` reports, before the offset becomes a line."""

    kind: str
    start: int
    excerpt: str


def secret_matches(text: str) -> Iterator[Match]:
    lowered = text.lower()
    for kind, pattern in SECRET_PATTERNS.items():
        if not _SECRET_TRIGGERS[kind](text, lowered):
            continue
        for match in pattern.finditer(text):
            yield Match(kind, match.start(), _redact(match.group(0)))


def find_secrets(text: str, where_prefix: str = "line ") -> Iterator[Finding]:
    return _findings(text, secret_matches(text), where_prefix)


def _findings(text: str, matches: Iterator[Match], where_prefix: str) -> Iterator[Finding]:
    for match in matches:
        yield Finding(match.kind, f"{where_prefix}{_line_of(text, match.start)}", match.excerpt)


def _machine_specific_strings() -> list[str]:
    """This checkout's own location and the user's home: any occurrence is a local path, whatever its root."""
    candidates = {str(REPO_ROOT), str(Path.home())}
    # "/" as home (some containers) would match everything; short roots are covered by the pattern.
    return sorted(c for c in candidates if len(c) > 5)


@cache  # a few literals per machine; staging calls this once per string of a tree
def _machine_path_pattern(literal: str) -> re.Pattern[str]:
    """`literal` as a whole path component, with whatever path follows it."""
    return re.compile(
        rf"(?:file://)?(?<![\w.~/:-]){re.escape(literal)}(?=$|[/\s\"'`<>|;,()\[\]{{}}])(?:/{_PATH_TAIL})?"
    )


def local_path_matches(text: str) -> Iterator[Match]:
    seen: set[int] = set()
    matches = LOCAL_PATH_PATTERN.finditer(text) if _PATH_TRIGGER.search(text) else ()
    for match in matches:
        seen.add(match.start())
        yield Match("absolute local path", match.start(), match.group(0)[:80])
    for literal in _machine_specific_strings():
        start = text.find(literal)
        while start != -1:
            if not any(abs(start - s) < len(literal) for s in seen):
                yield Match("path of this machine", start, text[start : start + 80])
            start = text.find(literal, start + 1)


def find_local_paths(text: str, where_prefix: str = "line ") -> Iterator[Finding]:
    return _findings(text, local_path_matches(text), where_prefix)


def _rewrite_path(path: str) -> str:
    """A local absolute path -> the repository-relative path, or `<local>/<name>` outside the checkout."""
    clean = path[len("file://") :] if path.startswith("file://") else path
    try:
        relative = Path(clean).resolve().relative_to(REPO_ROOT)
        return relative.as_posix() or "."
    except (ValueError, OSError):
        name = Path(clean.replace("\\", "/")).name
        return f"<local>/{name}" if name else "<local>"


def strip_local_paths_in_text(text: str) -> tuple[str, int]:
    """Replace every local absolute path in `text`; returns (new text, number replaced)."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return _rewrite_path(match.group(0))

    # This checkout and the home folder first, whatever their root (CI may check out under
    # /check/...): a path inside the checkout becomes repository-relative, not `<local>/...`.
    for literal in sorted(_machine_specific_strings(), key=len, reverse=True):
        if literal in text:
            text = _machine_path_pattern(literal).sub(replace, text)
    text = LOCAL_PATH_PATTERN.sub(replace, text)
    return text, count


def strip_local_paths(value: Any) -> tuple[Any, int]:
    """The same for a JSON/YAML-like tree (dicts, lists, strings); returns (new tree, number replaced)."""
    if isinstance(value, str):
        return strip_local_paths_in_text(value)
    if isinstance(value, dict):
        total = 0
        out = {}
        for key, item in value.items():
            out[key], n = strip_local_paths(item)
            total += n
        return out, total
    if isinstance(value, list | tuple):
        total = 0
        items = []
        for item in value:
            new, n = strip_local_paths(item)
            items.append(new)
            total += n
        return items, total
    return value, 0
