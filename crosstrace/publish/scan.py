"""Everything a staged file holds as text, read in pieces of bounded size, for the secrets and paths checks.

    .parquet      the file's key-value metadata (the Arrow schema it carries decoded, so schema and
                  column metadata are read too), `created_by`, the column names and types, every row
    .png          every text chunk (tEXt; zTXt and iTXt decompressed), every other chunk but the
                  pixels (IDAT) as raw bytes (a compressed ICC profile, iCCP, decompressed), and
                  anything after the end of the image (IEND)
    .safetensors  the JSON header (the rest is tensor data)
    tokenizer.json, vocab.json, merges.txt   the whole file for secrets; for local paths only
                  tokenizer.json's settings: a vocabulary's tokens include strings like "/home" that are text
    anything else (.json .jsonl .md .yaml .txt .jinja, and files of no known kind)   the whole file as UTF-8

The scanner holds one piece (`Limits.scan_chunk_bytes`) plus the end of the previous one
(`Limits.scan_overlap_chars`) at a time, and reports a match once, at its line, wherever the pieces
split it. A file that is not what its suffix says (a PNG with a broken chunk, a parquet file pyarrow
cannot open, a safetensors header longer than the file) raises `Unscannable`: the checks refuse what
they cannot read.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from crosstrace.jsonio import InvalidJSON, dumps, loads
from crosstrace.publish.limits import Limits, human_size
from crosstrace.sanitize import Match

Purpose = Literal["secrets", "paths"]
Matcher = Callable[[str], Iterator[Match]]

# Tokenizer vocabularies: scanned for secrets, not for local paths (their tokens are text, not paths).
VOCABULARY_FILES = ("vocab.json", "merges.txt")
NOT_TEXT = "tensor data of .safetensors files and pixel data (IDAT) of .png files"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Unscannable(ValueError):
    """The file is not what its suffix says, so what it holds cannot be read."""


@dataclass(frozen=True)
class Section:
    """One stretch of text of a file: where it is (said before its line numbers) and its pieces, in order."""

    where: str
    pieces: Iterable[str]


def scanned_for(path: Path, purpose: Purpose) -> bool:
    return not (purpose == "paths" and path.name in VOCABULARY_FILES)


def sections(path: Path, purpose: Purpose, limits: Limits) -> Iterator[Section]:
    if path.suffix == ".parquet":
        yield from _parquet(path, limits)
    elif path.suffix == ".png":
        yield from _png(path, limits)
    elif path.suffix == ".safetensors":
        yield _safetensors_header(path, limits)
    elif path.name == "tokenizer.json" and purpose == "paths":
        yield _tokenizer_settings(path, limits)
    else:
        yield Section("line ", _decoded(_file_blocks(path, limits), "utf-8"))


def matches(pieces: Iterable[str], matcher: Matcher, overlap: int) -> Iterator[tuple[str, int, str]]:
    """(kind, line, excerpt) of every match in the text `pieces` make together, holding one piece and
    `overlap` characters of the one before at a time."""
    tail, tail_start, lines_before_tail = "", 0, 0
    reported: set[tuple[str, int]] = set()
    for piece in pieces:
        if not piece:
            continue
        window = tail + piece
        for match in matcher(window):
            # At the very start of a later window a match may be the end of a longer one; whatever
            # starts there started `overlap` characters into the previous window, which found it.
            if match.start == 0 and tail_start > 0:
                continue
            key = (match.kind, tail_start + match.start)
            if key in reported:  # found in the previous window too
                continue
            reported.add(key)
            yield match.kind, lines_before_tail + window.count("\n", 0, match.start) + 1, match.excerpt
        cut = max(0, len(window) - overlap)
        lines_before_tail += window.count("\n", 0, cut)
        tail_start += cut
        tail = window[cut:]
        reported = {key for key in reported if key[1] >= tail_start}


# --- reading in pieces -------------------------------------------------------------------------


def _file_blocks(path: Path, limits: Limits) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(limits.scan_chunk_bytes):
            yield block


def _range_blocks(fd: int, start: int, length: int, limits: Limits) -> Iterator[bytes]:
    """`length` bytes from `start`, read by position: the sections of one file can be read in turn."""
    end = start + length
    while start < end:
        block = os.pread(fd, min(limits.scan_chunk_bytes, end - start), start)
        if not block:
            return
        yield block
        start += len(block)


def _decoded(blocks: Iterable[bytes], encoding: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    for block in blocks:
        yield decoder.decode(block)
    yield decoder.decode(b"", final=True)


def _inflated(blocks: Iterable[bytes], where: str, limits: Limits) -> Iterator[bytes]:
    """zlib data, decompressed a piece at a time (a small chunk can inflate to gigabytes)."""
    inflater = zlib.decompressobj()
    total = 0
    try:
        for block in blocks:
            while block:
                out = inflater.decompress(block, limits.scan_chunk_bytes)
                total += len(out)
                if total > limits.max_file_bytes:
                    raise Unscannable(f"{where} inflates to more than {human_size(limits.max_file_bytes)}")
                yield out
                block = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as error:
        raise Unscannable(f"{where} does not decompress ({error})") from None
    if not inflater.eof:
        raise Unscannable(f"{where} does not decompress (its compressed stream is cut short)")


def _label(raw: bytes) -> str:
    """A metadata key or chunk keyword for a message: short ones as they are, long ones cut (they could be secrets)."""
    text = raw.decode("utf-8", errors="replace")
    return repr(text) if len(text) <= 16 else repr(text[:6] + "…")


# --- parquet -----------------------------------------------------------------------------------


def _parquet(path: Path, limits: Limits) -> Iterator[Section]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise Unscannable(f"pyarrow cannot read it as parquet ({error})") from None
    with parquet:
        metadata = parquet.metadata
        yield Section("created_by, line ", [metadata.created_by or ""])
        for key, value in (metadata.metadata or {}).items():
            yield _parquet_metadata(key, value)
        yield Section("column names and types, line ", [str(parquet.schema)])
        index = 0
        try:
            for batch in parquet.iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    yield Section(f"row {index}, line ", [dumps(row, default=str)])
                    index += 1
        except (pa.ArrowException, OSError) as error:
            raise Unscannable(f"pyarrow cannot read the rows from row {index} on ({error})") from None


def _parquet_metadata(key: bytes, value: bytes) -> Section:
    where, encoding = f"file metadata {_label(key)}", "utf-8"
    if key == b"ARROW:schema":
        # The Arrow schema, base64: decoded, its bytes hold the schema's and every column's metadata.
        with contextlib.suppress(binascii.Error):  # not base64 after all: read as it is
            value, where, encoding = base64.b64decode(value), where + " (decoded)", "latin-1"
    return Section(f"{where}, line ", _decoded([key, b"\n", value], encoding))


# --- png ---------------------------------------------------------------------------------------


def _png(path: Path, limits: Limits) -> Iterator[Section]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        fd = handle.fileno()
        if os.pread(fd, 8, 0) != _PNG_SIGNATURE:
            raise Unscannable("not a PNG image (no PNG signature)")
        offset = 8
        while True:
            head = os.pread(fd, 8, offset)
            if len(head) < 8:
                raise Unscannable(f"the image ends at byte {offset} without an IEND chunk")
            length, kind = struct.unpack(">I4s", head)
            if not kind.isalpha():
                raise Unscannable(f"no PNG chunk at byte {offset} (type {kind!r})")
            name = kind.decode("ascii")
            data = offset + 8
            if data + length + 4 > size:
                raise Unscannable(f"the {name} chunk at byte {offset} runs past the end of the file")
            if kind != b"IDAT":  # pixels, compressed: image data, not text
                yield _png_chunk(fd, name, offset, data, length, limits)
            offset = data + length + 4  # past the CRC
            if kind == b"IEND":
                break
        if offset < size:
            trailing = _range_blocks(fd, offset, size - offset, limits)
            yield Section(
                f"{size - offset} bytes after the end of the image (IEND), line ", _decoded(trailing, "latin-1")
            )


def _png_chunk(fd: int, name: str, offset: int, data: int, length: int, limits: Limits) -> Section:
    where = f"{name} chunk at byte {offset}"
    if name not in ("tEXt", "zTXt", "iTXt", "iCCP"):
        return Section(f"{where} (raw bytes), line ", _decoded(_range_blocks(fd, data, length, limits), "latin-1"))
    head = os.pread(fd, min(length, 64 * 1024), data)
    keyword_end = head.find(b"\0")
    if keyword_end < 0:
        raise Unscannable(f"the {where} has no keyword")
    where = f"{name} chunk {_label(head[:keyword_end])} at byte {offset}"
    if name == "tEXt":  # keyword NUL text (latin-1)
        return Section(f"{where}, line ", _decoded(_range_blocks(fd, data, length, limits), "latin-1"))
    if name in ("zTXt", "iCCP"):  # keyword NUL method compressed (text, or an ICC profile)
        text_start, compressed, encoding = keyword_end + 2, True, "latin-1"
    else:  # iTXt: keyword NUL flag method language NUL translated-keyword NUL text (UTF-8)
        language_end = head.find(b"\0", keyword_end + 3)
        translated_end = head.find(b"\0", language_end + 1) if language_end >= 0 else -1
        if translated_end < 0:
            raise Unscannable(f"the {where} has a malformed header")
        text_start, compressed, encoding = translated_end + 1, head[keyword_end + 1] == 1, "utf-8"
    header = _decoded([head[:text_start], b"\n"], encoding)
    text = _range_blocks(fd, data + text_start, length - text_start, limits)
    if compressed:
        text = _inflated(text, f"the {where}", limits)
    return Section(f"{where}, line ", chain(header, _decoded(text, encoding)))


# --- safetensors and tokenizers ------------------------------------------------------------------


def _safetensors_header(path: Path, limits: Limits) -> Section:
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise Unscannable("shorter than a safetensors header")
        (length,) = struct.unpack("<Q", prefix)
        if length > size - 8:
            raise Unscannable(f"its header claims {length} bytes, more than the file holds")
        if too_large := limits.read_refusal(length):
            raise Unscannable(f"its header is {too_large}")
        return Section("header, line ", [handle.read(length).decode("utf-8", errors="replace")])


def _tokenizer_settings(path: Path, limits: Limits) -> Section:
    """tokenizer.json without its vocabulary and merges: tokens such as "/home" are text, not paths."""
    if too_large := limits.read_refusal(path.stat().st_size):
        raise Unscannable(f"{too_large}: its settings cannot be read apart from its vocabulary")
    try:
        tokenizer = loads(path.read_bytes().decode("utf-8-sig"))
    except (InvalidJSON, UnicodeDecodeError) as error:
        raise Unscannable(f"not valid JSON ({error})") from None
    if not isinstance(tokenizer, dict):
        raise Unscannable("not a tokenizer (a JSON object is expected)")
    model = tokenizer.get("model") if isinstance(tokenizer.get("model"), dict) else {}
    for key in ("vocab", "merges"):
        model.pop(key, None)
    return Section("settings (vocabulary left out), line ", [dumps(tokenizer, indent=1)])
