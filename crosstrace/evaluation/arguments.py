"""The command-line arguments of `evaluate.py`, one dataclass per sub-command.

They are parsed by TRL's `TrlParser` (an `HfArgumentParser` that also reads `--config <yaml>`):
YAML keys are field names, the command line overrides the YAML, and any unknown key or flag
is an error. Every field has `help` text, shown by `python evaluate.py --help`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TASK_NAMES = ("crosstrace", "dacr", "mcq")
MCQ_SCORING_HELP = (
    "mcq: generate (the model answers, its final letter is scored) or loglik (nothing is generated: each option's "
    "continuation 'Answer: <letter>' is scored by its log-probability right after the chat-formatted prompt, "
    "summed over its tokens, and the most likely option is the answer, as lm-evaluation-harness scores multiple choice; "
    "needs --backend hf or vllm)."
)
# Why the openai backend cannot score options: said the same way by the argument check and the backend.
LOGLIK_NEEDS_PROMPT_LOGPROBS = (
    "--mcq_scoring loglik needs the log-probability of given text after the prompt, which chat-completions endpoints do not "
    "return: use --backend hf or vllm, or --mcq_scoring generate"
)


def split_list(value: str | list[str] | None) -> list[str]:
    """`"a,b"` or `["a", "b"]` (YAML) -> `["a", "b"]`; blanks dropped."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [item.strip() for item in items if item.strip()]


# The judge's settings, shared by `evaluate.py` and `evaluate.py score`: (default, help) by flag.
_JUDGE_SETTINGS = {
    "judge_timeout": (
        120.0,
        "seconds before a judge request is abandoned; a timed-out request is not retried (the server is still on it).",
    ),
    "judge_concurrency": (4, "judge requests in flight at most; timed-out ones keep their slot."),
    "judge_max_tokens": (256, "max_tokens of each judge reply (a reasoning judge needs more)."),
    "judge_max_retries": (
        5,
        "retries per judge request on connection errors, 429 and 5xx (never on timeouts or other 4xx).",
    ),
    "judge_temperature": (0.0, "the judge's sampling temperature (recorded in results.json)."),
    "judge_seed": (0, "the judge's seed; repeat r of --judge_repeats is sent seed + r (recorded)."),
    "judge_repeats": (
        1,
        "judge each pair N times (seeds judge_seed..judge_seed+N-1) and report the judge's own spread.",
    ),
}


def _judge_setting(name: str):
    default, help_text = _JUDGE_SETTINGS[name]
    return field(default=default, metadata={"help": "crosstrace judge: " + help_text})


def _allow_missing_metrics():
    return field(
        default=False,
        metadata={
            "help": "Exit 0 even when a metric that was asked for (IAScore with a judge) could not be measured; "
            "without it such a run writes its results, warns and exits 1."
        },
    )


@dataclass
class EvalArguments:
    """`python evaluate.py --model ...`: generate with a model, then score."""

    # --- what to evaluate -------------------------------------------------------------------
    model: str = field(
        metadata={
            "help": "Base model: a Hub id or a local folder (hf, vllm), or the model name the server serves (openai)."
        }
    )
    adapter: str | None = field(
        default=None,
        metadata={
            "help": "PEFT/LoRA adapter (Hub id or folder) applied on the base model: through peft (hf), as a LoRA request (vllm), or the served LoRA module's name (openai)."
        },
    )
    backend: Literal["hf", "vllm", "openai"] = field(
        default="hf",
        metadata={
            "help": "hf: transformers; vllm: vLLM engine (CUDA); openai: any OpenAI-compatible /v1/chat/completions server."
        },
    )
    tasks: str = field(
        default="crosstrace,dacr",
        metadata={"help": f"Comma-separated tasks among {', '.join(TASK_NAMES)} (mcq needs --mcq_data)."},
    )
    label: str | None = field(
        default=None,
        metadata={
            "help": "Name of this run in reports and comparisons, e.g. 'baseline' or 'fine-tuned'. Default: 'fine-tuned' with an adapter, else 'baseline'."
        },
    )

    # --- data ---------------------------------------------------------------------------------
    crosstrace_data: str | None = field(
        default=None,
        metadata={
            "help": "CrossTrace test data: a built dataset folder or Hub id (loaded with datasets), or the upstream release folder "
            "(test_ours.jsonl, test_hypogen.jsonl). Default: ../shared/data/crosstrace when present."
        },
    )
    crosstrace_configs: str = field(
        default="all,hypogen",
        metadata={
            "help": "Configs of a built CrossTrace dataset to evaluate (the test split of each); 'hypogen' is scored with the HypoGen profile."
        },
    )
    dacr_benchmarks: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated DACR-Bench JSON files (upstream or engine benchmarks). Default: ../shared/data/dacr-bench/dacr_bench_v1.1_mini.json when present."
        },
    )
    dacr_split: Literal["all", "real", "synthetic"] = field(
        default="all", metadata={"help": "Evaluate only the challenges of this DACR split."}
    )
    prompt_template: str | None = field(
        default=None,
        metadata={
            "help": "DACR prompt template file with {document} and {questions} placeholders, e.g. upstream's prompt_template.txt. Default: the project's own template."
        },
    )
    mcq_data: str | None = field(
        default=None,
        metadata={"help": "MCQ records in the WildSci format: a .jsonl file, a built dataset folder or a Hub id."},
    )
    mcq_config: str | None = field(
        default=None, metadata={"help": "Config of a built MCQ dataset (folder or Hub id)."}
    )
    mcq_scoring: Literal["generate", "loglik"] = field(default="generate", metadata={"help": MCQ_SCORING_HELP})
    split: str = field(default="test", metadata={"help": "Split read from built datasets (CrossTrace, MCQ)."})
    max_samples: int | None = field(
        default=None,
        metadata={"help": "Evaluate only the first N prompts of each task (after filters), for quick checks."},
    )

    # --- decoding -----------------------------------------------------------------------------
    max_new_tokens: int = field(
        default=1024,
        metadata={"help": "Tokens generated at most per prompt. A DACR answer for 10 questions takes about 300-600."},
    )
    temperature: float = field(
        default=0.0, metadata={"help": "0 means greedy decoding (the default: deterministic, resumable exactly)."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass; used only when temperature > 0."})
    seed: int = field(
        default=42,
        metadata={"help": "Seed set before anything else; sampling is re-seeded per batch so a resumed run matches."},
    )
    batch_size: int = field(
        default=8,
        metadata={
            "help": "Prompts per generation call (hf: one padded batch; vllm: one engine call; openai: requests in flight per round). "
            "With --mcq_scoring loglik, questions per call (hf: one sequence per question when the options differ only in their last token; vllm: one per option)."
        },
    )

    # --- long documents against the model's context -----------------------------------------
    long_documents: Literal["skip", "truncate"] = field(
        default="skip",
        metadata={
            "help": "A prompt that does not fit the context (with max_new_tokens reserved) is skipped and counted (skip), or its document is cut to fit (truncate)."
        },
    )
    max_context_tokens: int | None = field(
        default=None,
        metadata={
            "help": "Context length to enforce. Default: the model's (hf: max_position_embeddings; vllm: max_model_len); openai: unchecked unless set."
        },
    )

    # --- hf backend ---------------------------------------------------------------------------
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = field(
        default="auto", metadata={"help": "Weights dtype (hf, vllm). auto: the checkpoint's."}
    )
    device: str = field(
        default="auto", metadata={"help": "hf: 'auto' (cuda when available, else cpu), 'cpu', 'cuda', 'cuda:1', ..."}
    )
    load_in_4bit: bool = field(
        default=False,
        metadata={"help": "hf: load the base model in 4-bit NF4 (bitsandbytes), as it was trained with QLoRA."},
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow model code from the Hub (hf, vllm)."})

    # --- vllm backend -------------------------------------------------------------------------
    gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vllm: share of GPU memory the engine may take."}
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs to shard the model over."})
    max_lora_rank: int = field(
        default=64, metadata={"help": "vllm: largest LoRA rank to allocate for (the release adapter has r=32)."}
    )

    # --- openai backend -----------------------------------------------------------------------
    base_url: str | None = field(
        default=None,
        metadata={
            "help": "openai: server root ending in /v1, e.g. http://localhost:8000/v1. Default: $OPENAI_BASE_URL."
        },
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "openai: environment variable holding the API key (never pass keys on the command line)."},
    )
    max_concurrency: int = field(default=8, metadata={"help": "openai: requests in flight at most."})
    request_timeout: float = field(
        default=600.0, metadata={"help": "openai: seconds before one request is abandoned and retried."}
    )
    max_retries: int = field(
        default=5, metadata={"help": "openai: retries per request on timeouts, 429 and 5xx, with exponential backoff."}
    )
    tokenizer: str | None = field(
        default=None,
        metadata={
            "help": "openai: tokenizer (Hub id or folder) to count prompt tokens exactly; otherwise estimated at 3 characters a token."
        },
    )

    # --- scoring ------------------------------------------------------------------------------
    scoring: Literal["strict", "reference"] = field(
        default="strict",
        metadata={"help": "DACR scoring: strict (ours, documented) or reference (upstream's rules, quirks included)."},
    )
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples for the 95%% intervals."})
    judge_model: str | None = field(
        default=None,
        metadata={
            "help": "crosstrace: model name of an OpenAI-compatible judge for IAScore; no judge (no IAScore) when unset. "
            "Two names 'a,b': a scores IAScore, b is a second judge whose agreement with a is reported. Default: $CROSSTRACE_JUDGE_MODEL."
        },
    )
    judge_base_url: str | None = field(
        default=None,
        metadata={
            "help": "crosstrace: the judge server's /v1 root (comma-separated, one per --judge_model). Default: $CROSSTRACE_JUDGE_BASE_URL, else $OPENAI_BASE_URL."
        },
    )
    judge_api_key_env: str = field(
        default="CROSSTRACE_JUDGE_API_KEY",
        metadata={
            "help": "crosstrace: environment variable(s) holding the judge's API key, one per --judge_model (comma-separated). The model's key is never sent to the judge."
        },
    )
    judge_timeout: float = _judge_setting("judge_timeout")
    judge_concurrency: int = _judge_setting("judge_concurrency")
    judge_max_tokens: int = _judge_setting("judge_max_tokens")
    judge_max_retries: int = _judge_setting("judge_max_retries")
    judge_temperature: float = _judge_setting("judge_temperature")
    judge_seed: int = _judge_setting("judge_seed")
    judge_repeats: int = _judge_setting("judge_repeats")
    allow_missing_metrics: bool = _allow_missing_metrics()

    # --- output -------------------------------------------------------------------------------
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Run folder. Default: dacr_results/<run-id>. Rerunning the same command resumes there, skipping every finished prompt."
        },
    )
    run_id: str | None = field(
        default=None,
        metadata={
            "help": "Run id. Default: model and adapter names plus a hash of every setting that changes the outputs."
        },
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Start over: discard the generations already in the run folder."}
    )
    plots: bool = field(default=True, metadata={"help": "Write PNG plots beside results.json."})

    def __post_init__(self) -> None:
        self.task_list = split_list(self.tasks)
        unknown = [t for t in self.task_list if t not in TASK_NAMES]
        if unknown or not self.task_list:
            raise ValueError(
                f"--tasks: unknown task(s) {unknown or self.tasks!r}; choose among {', '.join(TASK_NAMES)}"
            )
        for name in ("max_new_tokens", "batch_size", "max_concurrency", "bootstrap"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if self.temperature < 0:
            raise ValueError(f"--temperature must be >= 0, got {self.temperature}")
        if self.mcq_scoring == "loglik" and self.backend == "openai" and "mcq" in self.task_list:
            raise ValueError(LOGLIK_NEEDS_PROMPT_LOGPROBS)  # refused before anything is generated
        if self.label is None:
            self.label = "fine-tuned" if self.adapter else "baseline"


@dataclass
class ScoreArguments:
    """`python evaluate.py score ...`: score saved outputs of any model or API; no model is loaded."""

    task: Literal["crosstrace", "dacr", "mcq"] = field(metadata={"help": "Which task the predictions answer."})
    predictions: str = field(
        metadata={
            "help": "dacr: upstream's list of {challengeId, answers}, our own answers file, or a run's generations/dacr.jsonl of raw "
            "outputs; crosstrace, mcq: JSON Lines of {id, output}."
        }
    )
    benchmark: str | None = field(
        default=None,
        metadata={
            "aliases": ["--data"],
            "help": "The reference data: dacr: a DACR-Bench JSON file; crosstrace: the release folder, a built folder or Hub id; mcq: a .jsonl, folder or Hub id.",
        },
    )
    crosstrace_configs: str = field(
        default="all,hypogen",
        metadata={"help": "crosstrace: configs of a built dataset whose test split the predictions answer."},
    )
    mcq_config: str | None = field(default=None, metadata={"help": "mcq: config of a built dataset."})
    mcq_scoring: Literal["generate", "loglik"] = field(
        default="generate",
        metadata={
            "help": "mcq: generate (outputs are answers; their final letter is scored) or loglik (outputs are a run's option log-prob tables, e.g. its generations/mcq-loglik.jsonl)."
        },
    )
    split: str = field(default="test", metadata={"help": "Split read from built datasets."})
    scoring: Literal["strict", "reference"] = field(
        default="strict", metadata={"help": "dacr: strict (ours) or reference (upstream's rules)."}
    )
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples for the 95%% intervals."})
    seed: int = field(default=42, metadata={"help": "Seed for the bootstrap."})
    label: str = field(default="predictions", metadata={"help": "Name of this run in reports and comparisons."})
    model_name: str | None = field(
        default=None, metadata={"help": "The model or API that wrote the predictions, recorded in results.json."}
    )
    judge_model: str | None = field(
        default=None,
        metadata={"help": "crosstrace: OpenAI-compatible judge model for IAScore (default $CROSSTRACE_JUDGE_MODEL)."},
    )
    judge_base_url: str | None = field(default=None, metadata={"help": "crosstrace: the judge server's /v1 root."})
    judge_api_key_env: str = field(
        default="CROSSTRACE_JUDGE_API_KEY",
        metadata={
            "help": "crosstrace: environment variable(s) holding the judge's API key, one per --judge_model (comma-separated). The model's key is never sent to the judge."
        },
    )
    judge_timeout: float = _judge_setting("judge_timeout")
    judge_concurrency: int = _judge_setting("judge_concurrency")
    judge_max_tokens: int = _judge_setting("judge_max_tokens")
    judge_max_retries: int = _judge_setting("judge_max_retries")
    judge_temperature: float = _judge_setting("judge_temperature")
    judge_seed: int = _judge_setting("judge_seed")
    judge_repeats: int = _judge_setting("judge_repeats")
    allow_missing_metrics: bool = _allow_missing_metrics()
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Where results.json, samples.jsonl, report.md and plots go. Default: dacr_results/<run-id>."
        },
    )
    run_id: str | None = field(
        default=None, metadata={"help": "Run id. Default: 'score-<task>-<predictions file stem>-<mode>'."}
    )
    plots: bool = field(default=True, metadata={"help": "Write PNG plots beside results.json."})


@dataclass
class CompareArguments:
    """`python evaluate.py compare <baseline-run> <fine-tuned-run>`: the paper-style table."""

    run_dirs: list[str] = field(
        metadata={"help": "Two or more run folders (or results.json files); the first is the baseline."}
    )
    output: str | None = field(default=None, metadata={"help": "Also write the table (markdown) to this file."})
    bootstrap: int = field(
        default=1000, metadata={"help": "Resamples of the paired bootstrap behind each delta's 95%% interval."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the paired bootstrap."})
