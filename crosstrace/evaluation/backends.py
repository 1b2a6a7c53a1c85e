"""Generation backends: transformers (`hf`), vLLM (`vllm`) and any OpenAI-compatible server (`openai`).

All three take chat messages and return text, decode with the settings given (greedy by
default), and say how they count prompt tokens and how long their context is, so the
long-document policy can be applied before anything is generated. `hf` and `vllm` also score
given continuations by their log-probability after the prompt (`loglikelihood`, for
`--mcq_scoring loglik`); a chat-completions server cannot.

- `hf`: batched generation with the tokenizer's chat template and left padding; the adapter is
  applied with peft. The checkpoint's own `generation_config` (Qwen2.5 ships sampling defaults
  and a repetition penalty) is replaced, so only the recorded settings decide the outputs.
  Continuations are scored in one left-padded forward pass per batch, logits kept only where
  the continuations are. Continuations that differ only in their last token ("Answer: A" ..
  "Answer: J") share one sequence: the prompt runs once per question, not once per option.
- `vllm`: the vLLM engine, the adapter as a `LoRARequest`. Needs the `vllm` package and a CUDA
  GPU; otherwise a clear error says so (it is not installable on CPU-only machines).
  Continuations are scored with `prompt_logprobs` (prompt + continuation sent as token ids),
  one sequence per option (see `VLLMBackend._score_sequences` for why).
- `openai`: POST /chat/completions with retries (timeouts, 429, 5xx; exponential backoff,
  Retry-After honoured) and bounded concurrency. Only the standard library is used. With
  `--adapter`, the adapter's name is sent as the model (how vLLM's server names LoRA modules).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from crosstrace.evaluation.arguments import LOGLIK_NEEDS_PROMPT_LOGPROBS, EvalArguments
from crosstrace.evaluation.prompts import Messages

logger = logging.getLogger(__name__)

# Without a tokenizer, prompt length is estimated from characters. English BPE averages about 4
# characters a token; 3 over-counts on purpose, so the estimate errs towards skipping.
CHARS_PER_TOKEN_ESTIMATE = 3


class BackendError(RuntimeError):
    """A backend that cannot be set up or cannot generate; the message says what to do."""


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str  # "stop" (end of turn), "length" (hit max_new_tokens) or "scored" (continuations scored, nothing generated)
    output_tokens: int | None


# (chat messages, continuation texts): score each continuation as the start of the reply.
LoglikRequest = tuple[Messages, list[str]]


@dataclass(frozen=True)
class ScoringSequence:
    """Token ids to run through the model, and the continuation tokens to score.

    The last `scored` of `ids` are continuation tokens: their log-probs are summed. `last_tokens`,
    when given, are alternatives for one more continuation token, each read from the distribution
    after `ids`: the scorer then returns one sum per alternative (the sum inside `ids` plus the
    alternative's log-prob); without them, one sum. Under causal attention no token's log-prob
    depends on what follows it, so continuations that differ only in their last token share one
    sequence exactly (`plan_sequences`).
    """

    ids: list[int]
    scored: int
    last_tokens: list[int] = field(default_factory=list)


# Sequences -> per sequence, its sums in order: one per entry of `last_tokens`, or one when it has none.
SequenceScorer = Callable[[list[ScoringSequence]], list[list[float]]]


class Backend(Protocol):
    name: str
    # True when a prompt's output does not depend on which prompts share its batch. The hf
    # backend pads a batch to its longest prompt, which changes the numerics slightly, so a
    # resumed run must regenerate whole batches to reproduce an uninterrupted run exactly.
    batch_invariant: bool
    context_length: int | None
    token_count: str  # "exact" or how the estimate is made

    def count_tokens(self, messages: Messages) -> int: ...

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        """One generation per prompt, in order; `seeds[i]` is prompt i's sampling seed (see runner.prompt_seed)."""
        ...

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        """Per request, each continuation's log-probability (summed over its tokens) as the start of
        the assistant's reply to the messages; raises BackendError where the backend cannot.
        `share_prompt=False` scores every continuation in a sequence of its own (see `plan_sequences`)."""
        ...

    def describe(self) -> dict[str, Any]: ...


def decoding_settings(args: EvalArguments) -> dict[str, Any]:
    """The decoding settings recorded in results.json (the same for every backend)."""
    greedy = args.temperature == 0
    return {
        "strategy": "greedy" if greedy else "sampling",
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "top_p": 1.0 if greedy else args.top_p,
        "repetition_penalty": 1.0,
        "seed": args.seed,
        "batch_size": args.batch_size,
    }


def create_backend(args: EvalArguments) -> Backend:
    if args.backend == "hf":
        return HFBackend(args)
    if args.backend == "vllm":
        return VLLMBackend(args)
    return OpenAIBackend(args)


def _load_tokenizer(name_or_path: str, trust_remote_code: bool):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise BackendError(f"cannot load a tokenizer from {name_or_path!r}: {error}") from None


def _tokenizer_source(args: EvalArguments, model_path: str) -> str:
    """--tokenizer, else a local adapter folder's own tokenizer (training may change the template), else the model's."""
    if args.tokenizer:
        return args.tokenizer
    if args.adapter and (Path(args.adapter) / "tokenizer_config.json").is_file():
        return args.adapter
    return model_path


def _chat_text(tokenizer, messages: Messages) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise BackendError(
            f"the tokenizer {tokenizer.name_or_path!r} has no chat template: evaluate an instruct model, or pass --tokenizer with a chat template"
        )
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode_continuations(tokenizer, messages: Messages, continuations: list[str]) -> tuple[list[int], list[list[int]]]:
    """The token ids of the chat-formatted prompt (the assistant turn opened, exactly what `generate`
    feeds the model) and, for each continuation, the ids that follow them.

    A continuation is tokenized together with the prompt, as the text would be, and its ids are
    those after the prompt's own. If the two merge across the boundary (the prompt's ids are not a
    prefix of the joint ids), the continuation is tokenized alone instead, so the model is still
    scored on exactly the prompt `generate` gives it; a warning says so. Qwen2.5's and SmolLM2's
    templates end the prompt with a newline, which no BPE merge crosses.
    """
    prompt_text = _chat_text(tokenizer, messages)
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False).input_ids
    encoded = []
    for continuation in continuations:
        joint = tokenizer(prompt_text + continuation, add_special_tokens=False).input_ids
        if joint[: len(prompt_ids)] == prompt_ids:
            ids = joint[len(prompt_ids) :]
        else:
            warnings.warn(
                "a continuation merges with the end of the chat-formatted prompt when tokenized together; it is scored tokenized alone, after the prompt's own tokens",
                stacklevel=2,
            )
            ids = tokenizer(continuation, add_special_tokens=False).input_ids
        if not ids:
            raise BackendError(f"continuation {continuation!r} has no tokens after the prompt: nothing to score")
        encoded.append(ids)
    return prompt_ids, encoded


def plan_sequences(
    prompt_ids: list[int], options: list[list[int]], share_prompt: bool = True
) -> list[ScoringSequence]:
    """The sequences that score every continuation (token ids `options`) after `prompt_ids`, in order.

    When all continuations have the same tokens but the last (the MCQ options "Answer: A" ..
    "Answer: J"), one sequence holds the prompt and the shared tokens, and each option is one
    candidate last token: the prompt is computed once, as lm-evaluation-harness does for
    one-token continuations of one context. Otherwise (or with `share_prompt=False`, the
    reference the shared path is checked against) each continuation gets a sequence of its own,
    the prompt followed by the whole continuation.
    """
    if not options:
        return []
    shared = options[0][:-1]
    if share_prompt and all(ids[:-1] == shared for ids in options):  # equal lengths, equal tokens but the last
        return [ScoringSequence(ids=prompt_ids + shared, scored=len(shared), last_tokens=[ids[-1] for ids in options])]
    return [ScoringSequence(ids=prompt_ids + ids, scored=len(ids)) for ids in options]


def score_requests(
    tokenizer, requests: list[LoglikRequest], score_sequences: SequenceScorer, share_prompt: bool = True
) -> list[list[float]]:
    """Every continuation of `requests` scored in one call to `score_sequences`, regrouped per request."""
    plans = []
    for messages, continuations in requests:
        prompt_ids, options = encode_continuations(tokenizer, messages, continuations)
        plans.append(plan_sequences(prompt_ids, options, share_prompt))
    sums = iter(score_sequences([sequence for plan in plans for sequence in plan]))
    # A request's sequences hold its continuations in order, so their sums concatenate to one per continuation.
    return [[value for _ in plan for value in next(sums)] for plan in plans]


class HFBackend:
    name = "hf"
    batch_invariant = False
    token_count = "exact"

    def __init__(self, args: EvalArguments):
        import torch
        from transformers import AutoModelForCausalLM, GenerationConfig

        from crosstrace.models import resolve_model_path

        self.args = args
        model_path = resolve_model_path(args.model)  # `builtin:` names -> their local folder
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
        self.tokenizer_source = _tokenizer_source(args, model_path)
        self.tokenizer = _load_tokenizer(self.tokenizer_source, args.trust_remote_code)
        self.tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly
        if self.tokenizer.pad_token_id is None:
            logger.warning(
                "tokenizer has no pad token; padding with eos %r (masked by the attention mask)",
                self.tokenizer.eos_token,
            )
            self.tokenizer.pad_token = self.tokenizer.eos_token

        load_kwargs: dict[str, Any] = {"dtype": args.dtype, "trust_remote_code": args.trust_remote_code}
        if args.load_in_4bit:
            from transformers import BitsAndBytesConfig

            # The QLoRA training quantisation: NF4, double quantisation, bf16 compute.
            load_kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=torch.bfloat16,
            )
            load_kwargs["device_map"] = {"": self.device}
        try:
            model = AutoModelForCausalLM.from_pretrained(model_path, **load_kwargs)
            if not args.load_in_4bit:
                model.to(self.device)
            if args.adapter:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, args.adapter)
        except (OSError, ValueError) as error:  # not found, not downloadable offline, not a causal LM
            raise BackendError(
                f"cannot load --model {args.model!r}{f' with --adapter {args.adapter!r}' if args.adapter else ''}: {error}"
            ) from None
        model.eval()
        self.model = model
        # Most causal LMs can return logits for the last positions only: scoring continuations then
        # never materialises a sequence-length x vocabulary tensor (152k columns for Qwen2.5).
        core = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.keeps_last_logits = "logits_to_keep" in inspect.signature(core.forward).parameters

        # Stop on every end token the checkpoint knows (Qwen2.5-Instruct: <|im_end|> and <|endoftext|>).
        eos = model.generation_config.eos_token_id
        eos_ids = {self.tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}
        self.eos_ids = sorted(eos_ids)
        # Replace the checkpoint's defaults: generate() fills every unset field from them.
        model.generation_config = GenerationConfig(eos_token_id=self.eos_ids, pad_token_id=self.tokenizer.pad_token_id)
        greedy = args.temperature == 0
        self.generation_config = GenerationConfig(
            max_new_tokens=args.max_new_tokens,
            do_sample=not greedy,
            temperature=None if greedy else args.temperature,
            top_p=None if greedy else args.top_p,
            top_k=None if greedy else 0,  # 0 disables top-k: only temperature and top_p shape sampling
            repetition_penalty=1.0,
            eos_token_id=self.eos_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        config = model.config
        self.context_length = args.max_context_tokens or getattr(config, "max_position_embeddings", None)
        self._torch = torch

    def count_tokens(self, messages: Messages) -> int:
        return len(self.tokenizer(_chat_text(self.tokenizer, messages), add_special_tokens=False).input_ids)

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        from transformers import set_seed

        # One random stream per batch. Batches are fixed (see batch_invariant), so sampling draws
        # the same numbers for a batch whether or not the run was resumed.
        set_seed(seeds[0])
        texts = [_chat_text(self.tokenizer, messages) for messages in batch]
        encoded = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.model.device
        )
        with self._torch.inference_mode():
            output = self.model.generate(**encoded, generation_config=self.generation_config)
        new_tokens = output[:, encoded["input_ids"].shape[1] :].tolist()
        results = []
        for tokens in new_tokens:
            stop = next((i for i, t in enumerate(tokens) if t in self.eos_ids), None)
            kept = tokens if stop is None else tokens[: stop + 1]
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            results.append(
                Generation(text=text, finish_reason="length" if stop is None else "stop", output_tokens=len(kept))
            )
        return results

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        return score_requests(self.tokenizer, requests, self._score_sequences, share_prompt)

    def _score_sequences(self, sequences: list[ScoringSequence]) -> list[list[float]]:
        """One forward pass over all sequences, left-padded so every sequence ends in the last column:
        the logits before it score the continuation tokens inside the sequences, the last column's
        (the distribution of what follows a sequence) its candidate last tokens, if it has any."""
        torch = self._torch
        width = max(len(sequence.ids) for sequence in sequences)
        scored = max(sequence.scored for sequence in sequences)  # the most continuation tokens inside a sequence
        input_ids = torch.full((len(sequences), width), self.tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        for row, sequence in enumerate(sequences):
            input_ids[row, width - len(sequence.ids) :] = torch.tensor(sequence.ids)
            attention_mask[row, width - len(sequence.ids) :] = 1
        # Positions count from each row's first real token. Left unset, the model numbers columns,
        # and a padded row would be read as starting as many positions late as it has padding.
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}
        inputs = {name: tensor.to(self.model.device) for name, tensor in inputs.items()}
        with torch.inference_mode():
            if self.keeps_last_logits:
                logits = self.model(**inputs, use_cache=False, logits_to_keep=scored + 1).logits
            else:
                logits = self.model(**inputs, use_cache=False).logits[:, -(scored + 1) :]
            logprobs = logits.float().log_softmax(dim=-1)
            # Column j of logprobs[:, :-1] predicts the token in column width - scored + j.
            targets = inputs["input_ids"][:, width - scored :]
            token_logprobs = logprobs[:, :-1].gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            counts = torch.tensor([sequence.scored for sequence in sequences], device=token_logprobs.device)
            in_continuation = torch.arange(scored, device=token_logprobs.device) >= (scored - counts).unsqueeze(1)
            inside = (
                torch.where(in_continuation, token_logprobs, torch.zeros_like(token_logprobs)).sum(dim=-1).tolist()
            )
            after = logprobs[:, -1]  # the distribution of the token after each sequence
            # Without candidates the continuation ends inside the sequence: its one sum is the score.
            last = [
                after[row, sequence.last_tokens].tolist() if sequence.last_tokens else [0.0]
                for row, sequence in enumerate(sequences)
            ]
        return [[head + value for value in values] for head, values in zip(inside, last, strict=True)]

    def describe(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer_source
            if self.tokenizer_source in (self.args.model, self.args.adapter, self.args.tokenizer)
            else self.args.model,
            "dtype": str(next(self.model.parameters()).dtype).replace("torch.", ""),
            "device": self.device,
            "load_in_4bit": self.args.load_in_4bit,
            "context_length": self.context_length,
        }


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
        self.tokenizer_source = _tokenizer_source(args, model_path)
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
        return self._vllm.SamplingParams(
            max_tokens=self.args.max_new_tokens,
            temperature=0.0 if greedy else self.args.temperature,
            top_p=1.0 if greedy else self.args.top_p,
            repetition_penalty=1.0,
            seed=seed,
        )

    def count_tokens(self, messages: Messages) -> int:
        return len(self.tokenizer(_chat_text(self.tokenizer, messages), add_special_tokens=False).input_ids)

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


# HTTP statuses worth retrying: rate limits and server-side failures. Anything else is a request
# the server will never accept (bad model name, bad key): retrying would only waste time.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIBackend:
    name = "openai"
    batch_invariant = True  # one request per prompt

    def __init__(self, args: EvalArguments):
        self.args = args
        base_url = args.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise BackendError("--backend openai needs --base_url (e.g. http://localhost:8000/v1) or $OPENAI_BASE_URL")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = os.environ.get(args.api_key_env)
        self.served_model = args.adapter or args.model
        self.tokenizer = _load_tokenizer(args.tokenizer, args.trust_remote_code) if args.tokenizer else None
        self.token_count = "exact" if self.tokenizer else f"estimated ({CHARS_PER_TOKEN_ESTIMATE} characters a token)"
        self.context_length = args.max_context_tokens  # a server does not say; unchecked unless given

    def count_tokens(self, messages: Messages) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer(_chat_text(self.tokenizer, messages), add_special_tokens=False).input_ids)
        return -(-sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN_ESTIMATE)

    def payload(self, messages: Messages, seed: int) -> dict[str, Any]:
        greedy = self.args.temperature == 0
        # Every sampling field is sent explicitly: servers (vLLM's included) otherwise apply the
        # model's generation_config defaults, which for Qwen2.5 means sampling.
        return {
            "model": self.served_model,
            "messages": messages,
            "max_tokens": self.args.max_new_tokens,
            "temperature": 0.0 if greedy else self.args.temperature,
            "top_p": 1.0 if greedy else self.args.top_p,
            "seed": seed,
        }

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = ""
        for attempt in range(self.args.max_retries + 1):
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.args.request_timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")[:300]
                if error.code not in RETRY_STATUSES:
                    raise BackendError(f"{self.url} answered HTTP {error.code}: {detail}") from None
                last_error = f"HTTP {error.code}: {detail}"
                retry_after = error.headers.get("Retry-After") if error.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last_error = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                last_error = f"reply is not JSON ({error})"
            if attempt < self.args.max_retries:
                time.sleep(_backoff_seconds(attempt, retry_after))
        raise BackendError(
            f"{self.url}: no answer after {self.args.max_retries + 1} attempts ({last_error}). Finished samples are saved: rerun the same command to resume."
        )

    def _one(self, messages: Messages, seed: int) -> Generation:
        reply = self._post(self.payload(messages, seed))
        try:
            choice = reply["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(
                f"{self.url}: unexpected reply shape (no choices[0].message): {json.dumps(reply)[:300]}"
            ) from None
        usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        return Generation(text=text, finish_reason=finish, output_tokens=usage.get("completion_tokens"))

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        with ThreadPoolExecutor(max_workers=min(self.args.max_concurrency, len(batch))) as pool:
            return list(pool.map(self._one, batch, seeds))

    def loglikelihood(self, requests: list[LoglikRequest], share_prompt: bool = True) -> list[list[float]]:
        raise BackendError(LOGLIK_NEEDS_PROMPT_LOGPROBS)

    def describe(self) -> dict[str, Any]:
        return {
            "served_model": self.served_model,
            "tokenizer": self.args.tokenizer,
            "context_length": self.context_length,
            "token_count": self.token_count,
        }


def _backoff_seconds(attempt: int, retry_after: str | None) -> float:
    """Retry-After when the server gives seconds; else 1, 2, 4, ... s (capped at 60) with jitter."""
    if retry_after:
        try:
            return min(float(retry_after), 120.0)
        except ValueError:
            pass
    return min(2.0**attempt, 60.0) * (0.5 + random.random())
