"""Generation backends, one module each: hf.py (transformers + peft), vllm.py (LoRA request),
openai.py (any OpenAI-compatible server); base.py holds what they share and `create_backend`,
loglik.py the continuation scoring hf and vllm share. The pipeline sees only the base interface.

May import `crosstrace.models` (built-in model names) and, within evaluation, `prompts` and
`arguments` only: backends know nothing of tasks or scoring."""

from crosstrace.evaluation.backends.base import (
    Backend,
    BackendError,
    Generation,
    LoglikRequest,
    create_backend,
    decoding_settings,
)

__all__ = ["Backend", "BackendError", "Generation", "LoglikRequest", "create_backend", "decoding_settings"]
