"""How much `upload.py` stages, reads whole, or holds at once while scanning; sizes as people write them.

Every limit is checked on a file's size before the file is opened, so a file above one costs
nothing to refuse. `upload.py --max-file-size` and `--max-read-size` change the first two; the
scanner's piece size is a setting of the code (tests make it small).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B)?\s*$", re.IGNORECASE)


def parse_size(text: str, option: str) -> int:
    """'2GB', '64 MB', '1.5GB', '4096' (bytes) -> bytes; units are powers of 1024, as `human_size` prints them."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{option}: {text!r} is not a size; write it like 2GB, 64MB or 4096 (bytes)")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


@dataclass(frozen=True)
class Limits:
    # No file above it is staged (refused before it is opened or copied) or pushed: larger than any
    # file of ours; a merged 7B model would be (the Hub itself takes larger files through Xet).
    max_file_bytes: int = 2 * 1024**3
    # Files read whole: JSON settings and cards, a tokenizer.json's settings, and the text files whose
    # local paths staging rewrites (larger ones are copied as they are and scanned in pieces).
    max_read_bytes: int = 64 * 1024**2
    # The scanners hold one piece of a file at a time (plus the overlap)...
    scan_chunk_bytes: int = 1024**2
    # ...and scan the end of each piece again with the next one, so a match that starts in the last
    # `scan_overlap_chars` characters of a piece is still found whole: far longer than any pattern needs.
    scan_overlap_chars: int = 4096

    def __post_init__(self) -> None:
        if self.scan_overlap_chars >= self.scan_chunk_bytes:
            raise ValueError("the scan overlap must be shorter than a scanned piece")

    @classmethod
    def from_options(cls, max_file_size: str, max_read_size: str) -> Limits:
        return cls(parse_size(max_file_size, "--max-file-size"), parse_size(max_read_size, "--max-read-size"))

    def file_refusal(self, size: int) -> str | None:
        if size > self.max_file_bytes:
            return f"{human_size(size)}, above the {human_size(self.max_file_bytes)} limit (--max-file-size)"
        return None

    def read_refusal(self, size: int) -> str | None:
        if size > self.max_read_bytes:
            return f"{human_size(size)}, above the {human_size(self.max_read_bytes)} limit for a file read whole (--max-read-size)"
        return None
