"""The `vllm` backend: the vLLM engine, the adapter sent as a `LoRARequest`.

Needs the `vllm` package and a CUDA GPU; otherwise a clear error says so (it is not installable
on CPU-only machines). Continuations are scored with `prompt_logprobs` (prompt + continuation
sent as token ids), one sequence per option (see `VLLMBackend._score_sequences` for why).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crosstrace.evaluation.arguments import EvalArguments
from crosstrace.evaluation.backends.base import (
    BackendError,
    Generation,
    LoglikRequest,
    chat_text,
    pick_tokenizer_source,
    stream_in_batches,
)
from crosstrace.evaluation.backends.loglik import ScoringSequence, score_requests
from crosstrace.evaluation.prompts import Messages


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise BackendError(
            "--backend vllm needs the `vllm` package (pip install vllm) on a machine with a CUDA GPU. "
            "Alternatives: --backend hf, or serve the model with `vllm serve` elsewhere and use --backend openai."
        ) from None
    import torch

    if not torch.cuda.is_available():
        raise BackendError("--backend vllm needs a CUDA GPU, and torch sees none. Use --backend hf on this machine.")
    return vllm


def _local_adapter(adapter: str) -> str:
    """vLLM loads a LoRA from a folder: a Hub id is downloaded (or found in the cache) first."""
    if Path(adapter).is_dir():
        return adapter
    from huggingface_hub import snapshot_download

    return snapshot_download(adapter)


class VLLMBackend:
    name = "vllm"
    # vLLM schedules requests itself (continuous batching); our batches only bound memory and
    # checkpointing. Greedy outputs can still differ in the last bits between runs of vLLM itself.
    batch_invariant = True
    token_count = "exact"

    def __init__(self, args: EvalArguments):
        from crosstrace.models import resolve_model_path

        vllm = _import_vllm()
        from vllm.lora.request import LoRARequest

        self.args = args
        self._vllm = vllm
        model_path = resolve_model_path(args.model)
        self.tokenizer_source = pick_tokenizer_source(args, model_path)
        engine_kwargs: dict[str, Any] = {
            "model": model_path,
            "tokenizer": self.tokenizer_source,
            "dtype": args.dtype,
            "seed": args.seed,
            "trust_remote_code": args.trust_remote_code,
            "gpu_memory_utilization": args.gpu_memory_utilization,
            "tensor_parallel_size": args.tensor_parallel_size,
        }
        if args.max_context_tokens:
            engine_kwargs["max_model_len"] = args.max_context_tokens
        if args.adapter:
            engine_kwargs.update(enable_lora=True, max_lora_rank=args.max_lora_rank, max_loras=1)
        self.engine_kwargs = engine_kwargs
        self.llm = vllm.LLM(**engine_kwargs)
        self.lora_request = LoRARequest("adapter", 1, _local_adapter(args.adapter)) if args.adapter else None
        self.tokenizer = self.llm.get_tokenizer()
        self.context_length = args.max_context_tokens or self.llm.llm_engine.model_config.max_model_len

    def sampling_params(self, seed: int | None):
        greedy = self.args.temperature == 0
        # top_k only when set: vLLM spells "off" -1 (0 was refused until recently) and defaults to off.
        top_k = {} if greedy or not self.args.top_k else {"top_k": self.args.top_k}
        return self._vllm.SamplingParams(
            max_tokens=self.args.max_new_tokens,
            temperature=0.0 if greedy else self.args.temperature,
            top_p=1.0 if greedy else self.args.top_p,
            repetition_penalty=self.args.repetition_penalty,
            seed=seed,
            **top_k,
        )

    def count_tokens(self, messages: Messages) -> int:
        return len(self.tokenizer(chat_text(self.tokenizer, messages), add_special_tokens=False).input_ids)

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        params = [
            self.sampling_params(seed) for seed in seeds
        ]  # a seed per request: reproducible under any scheduling
        outputs = self.llm.chat(batch, sampling_params=params, lora_request=self.lora_request, use_tqdm=False)
        results = []
        for output in outputs:
            completion = output.outputs[0]
            finish = "length" if completion.finish_reason == "length" else "stop"
            results.append(
                Generation(text=completion.text, finish_reason=finish, output_tokens=len(completion.token_ids))
            )
        return results

    def generate_stream(
        self, batch: list[Messages], seeds: list[int], batch_size: int
    ) -> Iterator[tuple[int, Generation]]:
        return stream_in_batches(self.generate, batch, seeds, batch_size)

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        return score_requests(self.tokenizer, requests, self._score_sequences, share_prompt)

    def _score_sequences(self, sequences: list[ScoringSequence]) -> list[list[float]]:
        """Each sequence sent as token ids, once per candidate last token (appended) if it has
        any; vLLM's `prompt_logprobs` gives every prompt token's log-prob.

        Options that share a sequence are still sent one sequence each, which costs a prefill of
        the prompt per option (vLLM does not read its prefix cache for a request that asks for
        prompt_logprobs). Reading all candidates from one request would need the log-probs of
        the position after the prompt for given tokens, and vLLM returns a position's log-probs only
        for the token there (prompt_logprobs) and the top k (`logprobs`, k at most the engine's
        max_logprobs, 20 by default): a letter outside the top k would have no exact score. This
        path is exact for any candidate.
        """
        # prompt_logprobs=1: at each position, the log-prob of the token actually there (plus the
        # most likely one). One generated token is the least a request can ask for; it is ignored.
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        sent = [
            [([*sequence.ids, token], sequence.scored + 1) for token in sequence.last_tokens]
            or [(sequence.ids, sequence.scored)]
            for sequence in sequences
        ]
        expanded = [prompt for per_sequence in sent for prompt in per_sequence]
        outputs = self.llm.generate(
            [{"prompt_token_ids": ids} for ids, _ in expanded],
            sampling_params=params,
            lora_request=self.lora_request,
            use_tqdm=False,
        )
        sums = []
        for (ids, count), output in zip(expanded, outputs, strict=True):
            start = len(ids) - count
            try:
                sums.append(
                    sum(output.prompt_logprobs[position][ids[position]].logprob for position in range(start, len(ids)))
                )
            except (KeyError, IndexError, TypeError):
                raise BackendError(
                    f"vLLM returned no prompt log-prob for a continuation token (prompt_logprobs has {len(output.prompt_logprobs or [])} positions for {len(ids)} tokens)"
                ) from None
        regrouped = iter(sums)
        return [[next(regrouped) for _ in per_sequence] for per_sequence in sent]

    def describe(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer_source,
            "context_length": self.context_length,
            "vllm": getattr(self._vllm, "__version__", None),
            "lora": self.lora_request is not None,
        }
