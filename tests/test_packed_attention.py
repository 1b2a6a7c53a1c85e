"""Packed rows stay isolated without FlashAttention-2: the reason the release recipe needs no flash-attn.

TRL's bfd packing runs padding-free: the collator flattens a bin into one sequence with no attention
mask and `position_ids` restarting at 0 for each row, and training runs without a KV cache. From
those position_ids transformers builds a block-diagonal causal mask for sdpa and eager. Each packed
row's logits must equal the row run alone; and the two ways of mixing rows (an all-ones mask, a KV
cache) must really mix them, so that this test can tell isolation from a model that ignores context.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROW_LENGTHS = (7, 12, 5)  # three rows of one bin
ISOLATED = 1e-5  # float32 rounding between a packed and an unpacked forward (measured ~1e-6)
MIXED = 1e-2  # rows that see each other differ by far more (measured ~0.1-1)


@pytest.fixture(scope="module")
def model_and_rows():
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    # The tiny CI model's shape (crosstrace.models.build_tiny_qwen2) with a small vocabulary: only attention matters.
    config = Qwen2Config(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).eval()
    rows = [torch.randint(1, config.vocab_size, (n,)).tolist() for n in ROW_LENGTHS]
    return model, rows


def _packed_batch(rows):
    """What SFTTrainer's collator gives the model for one bfd bin (padding-free)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)
    batch = collator([{"input_ids": [t for row in rows for t in row], "seq_lengths": [len(r) for r in rows]}])
    assert "attention_mask" not in batch  # padding-free: the isolation rests on position_ids alone
    batch.pop("labels")
    return batch


def _max_diff_to_rows_alone(model, rows, logits):
    import torch

    diffs, start = [], 0
    for row in rows:
        with torch.no_grad():
            alone = model(input_ids=torch.tensor([row]), use_cache=False).logits[0]
        diffs.append((logits[0, start : start + len(row)] - alone).abs().max().item())
        start += len(row)
    return diffs


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_packed_rows_equal_each_row_alone(model_and_rows, attn_implementation):
    import torch

    model, rows = model_and_rows
    model.set_attn_implementation(attn_implementation)
    with torch.no_grad():
        logits = model(**_packed_batch(rows), use_cache=False).logits
    diffs = _max_diff_to_rows_alone(model, rows, logits)
    assert max(diffs) < ISOLATED, f"packed rows attend to each other under {attn_implementation}: {diffs}"


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_an_all_ones_mask_mixes_packed_rows(model_and_rows, attn_implementation):
    import torch

    model, rows = model_and_rows
    model.set_attn_implementation(attn_implementation)
    batch = _packed_batch(rows)
    with torch.no_grad():
        logits = model(
            input_ids=batch["input_ids"],
            position_ids=batch["position_ids"],
            attention_mask=torch.ones_like(batch["input_ids"]),
            use_cache=False,
        ).logits
    diffs = _max_diff_to_rows_alone(model, rows, logits)
    assert diffs[0] < ISOLATED  # the first row has nothing before it
    assert min(diffs[1:]) > MIXED, f"an all-ones mask should let later rows see earlier ones: {diffs}"


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_a_kv_cache_mixes_packed_rows(model_and_rows, attn_implementation):
    import torch

    model, rows = model_and_rows
    model.set_attn_implementation(attn_implementation)
    batch = _packed_batch(rows)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=True).logits
    diffs = _max_diff_to_rows_alone(model, rows, logits)
    assert min(diffs[1:]) > MIXED, f"with a KV cache packed rows are expected to mix: {diffs}"
