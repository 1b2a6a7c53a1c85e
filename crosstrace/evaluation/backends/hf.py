"""The `hf` backend: transformers, with the adapter applied through peft.

Batched generation with the tokenizer's chat template and left padding. The checkpoint's own
`generation_config` (Qwen2.5 ships sampling defaults and a repetition penalty) is replaced, so
only the recorded settings decide the outputs. Continuations are scored in one left-padded
forward pass per batch, logits kept only where the continuations are; continuations that differ
only in their last token share one sequence (see `loglik.plan_sequences`).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from crosstrace.evaluation.arguments import EvalArguments
from crosstrace.evaluation.backends.base import (
    BackendError,
    Generation,
    LoglikRequest,
    chat_text,
    load_tokenizer,
    pick_tokenizer_source,
)
from crosstrace.evaluation.backends.loglik import ScoringSequence, score_requests
from crosstrace.evaluation.prompts import Messages

logger = logging.getLogger(__name__)


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
        self.tokenizer_source = pick_tokenizer_source(args, model_path)
        self.tokenizer = load_tokenizer(self.tokenizer_source, args.trust_remote_code)
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
            top_k=None if greedy else args.top_k,  # 0 disables top-k
            repetition_penalty=args.repetition_penalty,
            eos_token_id=self.eos_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        config = model.config
        self.context_length = args.max_context_tokens or getattr(config, "max_position_embeddings", None)
        self._torch = torch

    def count_tokens(self, messages: Messages) -> int:
        return len(self.tokenizer(chat_text(self.tokenizer, messages), add_special_tokens=False).input_ids)

    def generate(self, batch: list[Messages], seeds: list[int]) -> list[Generation]:
        from transformers import set_seed

        # One random stream per batch. Batches are fixed (see batch_invariant), so sampling draws
        # the same numbers for a batch whether or not the run was resumed.
        set_seed(seeds[0])
        texts = [chat_text(self.tokenizer, messages) for messages in batch]
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
