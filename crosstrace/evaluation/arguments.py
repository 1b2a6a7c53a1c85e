"""The command-line arguments of `evaluate.py`: focused groups, composed into one dataclass per sub-command.

Groups, by what they change:
  GenerationArguments    the model, backend, decoding, prompts and context: what a generated output
                         depends on (the default run id hashes this group and the data selection)
  EngineArguments        how a backend runs (memory, parallelism, retries, credentials)
  DataArguments          which tasks a run evaluates and where their records come from
  BuiltDatasetArguments  configs and split of built datasets              (run and score)
  ScoringArguments       scoring mode and bootstrap                         (run and score)
  JudgeArguments         the optional IAScore judge                          (run and score)
  OutputArguments        the run folder and what goes in it                  (run and score)

They are parsed by `crosstrace.cli` (`HfArgumentParser` plus `--config <yaml>`): YAML keys are
field names, the command line overrides the YAML, and any unknown key or flag is an error.
Every field has `help` text, shown by `python evaluate.py --help`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

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


# The groups below are composed (by inheritance, so `args.<field>` stays flat) into one
# dataclass per sub-command: `run` = every group, `score` = the shared ones plus its own.
# kw_only: a composed class may then mix required and defaulted fields in any order.


@dataclass(kw_only=True)
class GenerationArguments:
    """What a generated output depends on besides its prompt: the model, how it runs, the decoding, the prompts.

    The default run id hashes this group and the data selection (changing any of these makes other
    generations; `pipeline.run_identity`); the engine, scoring, judge and output groups only decide how
    requests are made, what is scored, how, and where it goes, so they can change on a finished run."""

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
    tokenizer: str | None = field(
        default=None,
        metadata={
            "help": "openai: tokenizer (Hub id or folder) to count prompt tokens exactly before sending. Without it the count is a safe "
            "upper bound (UTF-8 bytes plus an allowance for the chat template, ~4x the real count for English), so "
            "--max_context_tokens may skip prompts that would fit. The server's exact count is recorded after."
        },
    )
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
    base_url: str | None = field(
        default=None,
        metadata={
            "help": "openai: server root ending in /v1, e.g. http://localhost:8000/v1. Default: $OPENAI_BASE_URL."
        },
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
    top_k: int = field(
        default=0,
        metadata={
            "help": "Sample from the k most likely tokens only; 0 (the default) means off. Used only when temperature > 0."
        },
    )
    repetition_penalty: float = field(
        default=1.0,
        metadata={"help": "Repetition penalty (1.0 = none, the default; Qwen2.5's generation_config ships 1.05)."},
    )
    send_sampling_extras: bool = field(
        default=False,
        metadata={
            "help": "openai: always send top_k and repetition_penalty, which are outside the OpenAI API (vLLM, SGLang and llama.cpp "
            "servers take them; hosted APIs and transformers serve refuse them with HTTP 400/422). Without it they are sent only "
            "when set away from their defaults, and results.json records 'server default' for them: a server may then apply "
            "the model's generation_config (vLLM does)."
        },
    )
    seed: int = field(
        default=42,
        metadata={
            "help": "Seed set before anything else; sampling is re-seeded per batch so a resumed run matches. Also seeds the bootstrap."
        },
    )
    batch_size: int = field(
        default=8,
        metadata={
            "help": "Prompts per generation call (hf: one padded batch, which can change numerics, so it is part of the run id; "
            "vllm: one engine call; openai: not used, --max_concurrency requests stay in flight). "
            "With --mcq_scoring loglik, questions per call (hf: one sequence per question when the options differ only in their last token; vllm: one per option)."
        },
    )

    # --- prompts and the model's context ----------------------------------------------------
    prompt_template: str | None = field(
        default=None,
        metadata={
            "help": "DACR prompt template file with {document} and {questions} placeholders, e.g. upstream's prompt_template.txt. Default: the project's own template."
        },
    )
    mcq_scoring: Literal["generate", "loglik"] = field(default="generate", metadata={"help": MCQ_SCORING_HELP})
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


@dataclass(kw_only=True)
class EngineArguments:
    """How a backend runs (memory, parallelism, retries, credentials): never what it outputs."""

    gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vllm: share of GPU memory the engine may take."}
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs to shard the model over."})
    max_lora_rank: int = field(
        default=64, metadata={"help": "vllm: largest LoRA rank to allocate for (the release adapter has r=32)."}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "openai: environment variable holding the API key (never pass keys on the command line)."},
    )
    max_concurrency: int = field(
        default=8,
        metadata={
            "help": "openai: requests kept in flight: a new one goes out as soon as any reply arrives (a slow reply holds one slot, not a round)."
        },
    )
    request_timeout: float = field(
        default=600.0, metadata={"help": "openai: seconds before one request is abandoned and retried."}
    )
    max_retries: int = field(
        default=5,
        metadata={
            "help": "openai: retries per request on timeouts, connection errors, 408/409/429 and 5xx, with exponential backoff; "
            "when they run out the run stops (rerun to resume). A prompt the server refuses (400, 413, 422: e.g. too long "
            "for its context) is not retried: it is recorded as failed, the run goes on, and it exits 3 unless --allow_missing_metrics."
        },
    )


@dataclass(kw_only=True)
class DataArguments:
    """Which data a run evaluates: the tasks and where their records come from."""

    tasks: str = field(
        default="crosstrace,dacr",
        metadata={"help": f"Comma-separated tasks among {', '.join(TASK_NAMES)} (mcq needs --mcq_data)."},
    )
    crosstrace_data: str | None = field(
        default=None,
        metadata={
            "help": "CrossTrace test data: a built dataset folder or Hub id (loaded with datasets), or the upstream release folder "
            "(test_ours.jsonl, test_hypogen.jsonl). Default: ../shared/data/crosstrace when present."
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
    mcq_data: str | None = field(
        default=None,
        metadata={"help": "MCQ records in the WildSci format: a .jsonl file, a built dataset folder or a Hub id."},
    )
    max_samples: int | None = field(
        default=None,
        metadata={
            "help": "Evaluate only the first N prompts of each task (after filters), for quick checks. Not part of the run id on "
            "vllm and openai: a later run with more samples extends the same run folder (part of it on hf, where the batches change)."
        },
    )


@dataclass(kw_only=True)
class BuiltDatasetArguments:
    """Which part of a built dataset (folder or Hub id) the prompts or predictions belong to: run and score."""

    crosstrace_configs: str = field(
        default="all,hypogen",
        metadata={
            "help": "crosstrace: configs of a built dataset to read (the test split of each); 'hypogen' is scored with the HypoGen profile."
        },
    )
    mcq_config: str | None = field(default=None, metadata={"help": "mcq: config of a built dataset."})
    split: str = field(default="test", metadata={"help": "Split read from built datasets (CrossTrace, MCQ)."})


@dataclass(kw_only=True)
class ScoringArguments:
    """How answers are scored and summarised: run and score."""

    scoring: Literal["strict", "reference"] = field(
        default="strict",
        metadata={"help": "DACR scoring: strict (ours, documented) or reference (upstream's rules, quirks included)."},
    )
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples for the 95%% intervals."})


@dataclass(kw_only=True)
class JudgeArguments:
    """The optional LLM judge of CrossTrace hypotheses (IAScore), and what a run does when a metric it was asked for
    cannot be measured: run and score."""

    judge_model: str | None = field(
        default=None,
        metadata={
            "help": "crosstrace: model name of an OpenAI-compatible judge for IAScore; no judge (no IAScore) when unset. "
            "Two names 'a,b': a scores IAScore, b is a second judge whose agreement with a is reported. "
            "Default: $CROSSTRACE_JUDGE_MODEL."
        },
    )
    judge_base_url: str | None = field(
        default=None,
        metadata={
            "help": "crosstrace: the judge server's /v1 root (comma-separated, one per --judge_model). "
            "Default: $CROSSTRACE_JUDGE_BASE_URL, else $OPENAI_BASE_URL."
        },
    )
    judge_api_key_env: str = field(
        default="CROSSTRACE_JUDGE_API_KEY",
        metadata={
            "help": "crosstrace: environment variable(s) holding the judge's API key, one per --judge_model "
            "(comma-separated). The model's key is never sent to the judge."
        },
    )
    judge_timeout: float = field(
        default=120.0,
        metadata={
            "help": "crosstrace judge: seconds before a judge request is abandoned; a timed-out request is not retried "
            "(the server is still on it)."
        },
    )
    judge_concurrency: int = field(
        default=4, metadata={"help": "crosstrace judge: requests in flight at most; timed-out ones keep their slot."}
    )
    judge_max_tokens: int = field(
        default=256, metadata={"help": "crosstrace judge: max_tokens of each reply (a reasoning judge needs more)."}
    )
    judge_max_retries: int = field(
        default=5,
        metadata={
            "help": "crosstrace judge: retries per request on connection errors, 429 and 5xx (never on timeouts or other 4xx)."
        },
    )
    judge_temperature: float = field(
        default=0.0, metadata={"help": "crosstrace judge: sampling temperature (recorded in results.json)."}
    )
    judge_seed: int = field(
        default=0,
        metadata={"help": "crosstrace judge: seed; repeat r of --judge_repeats is sent seed + r (recorded)."},
    )
    judge_repeats: int = field(
        default=1,
        metadata={
            "help": "crosstrace judge: judge each pair N times (seeds judge_seed..judge_seed+N-1) and report the "
            "judge's own spread."
        },
    )
    allow_missing_metrics: bool = field(
        default=False,
        metadata={
            "help": "Exit 0 even when part of the run could not be measured (e.g. IAScore when the judge never "
            "answered); without it such a run writes its results, warns and exits 3."
        },
    )


@dataclass(kw_only=True)
class OutputArguments:
    """Where the run folder goes and what is written there: run and score."""

    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Run folder (results.json, samples.jsonl, report.md, plots). Default: dacr_results/<run-id>. "
            "A generation run rerun with the same settings resumes there, skipping every finished prompt."
        },
    )
    run_id: str | None = field(
        default=None,
        metadata={
            "help": "Run id. Default (run): model and adapter names plus a hash of what changes the generations (model, backend, "
            "decoding, prompts, data; batch_size and max_samples on hf only), so scoring and judging can be added to a finished run; "
            "(score): 'score-<task>-<predictions file stem>-<mode>'."
        },
    )
    plots: bool = field(default=True, metadata={"help": "Write PNG plots beside results.json."})


def group_values(args: object, group: type) -> dict[str, Any]:
    """The values of one argument group's fields in `args`, e.g. `group_values(args, GenerationArguments)`."""
    return {f.name: getattr(args, f.name) for f in fields(group)}


@dataclass(kw_only=True)
class EvalArguments(
    OutputArguments,
    JudgeArguments,
    ScoringArguments,
    BuiltDatasetArguments,
    DataArguments,
    EngineArguments,
    GenerationArguments,
):
    """`python evaluate.py --model ...`: generate with a model, then score."""

    label: str | None = field(
        default=None,
        metadata={
            "help": "Name of this run in reports and comparisons, e.g. 'baseline' or 'fine-tuned'. Default: 'fine-tuned' with an adapter, else 'baseline'."
        },
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Start over: discard the generations already in the run folder."}
    )

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
        if self.max_samples is not None and self.max_samples < 1:  # -1 would drop the last prompt, silently
            raise ValueError(
                f"--max_samples must be at least 1 (or left out for every prompt), got {self.max_samples}"
            )
        if self.temperature < 0:
            raise ValueError(f"--temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0 or self.repetition_penalty <= 0:
            raise ValueError(
                f"--top_k must be >= 0 (0: off) and --repetition_penalty > 0, got {self.top_k} and {self.repetition_penalty}"
            )
        if self.mcq_scoring == "loglik" and self.backend == "openai" and "mcq" in self.task_list:
            raise ValueError(LOGLIK_NEEDS_PROMPT_LOGPROBS)  # refused before anything is generated
        if self.label is None:
            self.label = "fine-tuned" if self.adapter else "baseline"


@dataclass(kw_only=True)
class ScoreArguments(OutputArguments, JudgeArguments, ScoringArguments, BuiltDatasetArguments):
    """`python evaluate.py score ...`: score saved outputs of any model or API; no model is loaded."""

    task: Literal["crosstrace", "dacr", "mcq"] = field(metadata={"help": "Which task the predictions answer."})
    predictions: str = field(
        metadata={
            "help": "dacr: upstream's list of {challengeId, answers}, our own answers file, or a run's generations/dacr.jsonl of raw "
            "outputs; crosstrace, mcq: JSON Lines of {id, output}."
        }
    )
    predictions_format: Literal["auto", "outputs", "dacr-upstream", "dacr-mapping"] = field(
        default="auto",
        metadata={
            "help": "How --predictions is written: outputs (JSON Lines of {id, output}: raw model text, e.g. a run's generations file; "
            "every task), dacr-upstream (upstream's list of {challengeId, answers}), dacr-mapping (our {challengeId: {qid: answer}}). "
            "auto: the file's first record decides, and the log says which format it found; a stated format is checked against every record."
        },
    )
    benchmark: str | None = field(
        default=None,
        metadata={
            "aliases": ["--data"],
            "help": "The reference data: dacr: a DACR-Bench JSON file; crosstrace: the release folder, a built folder or Hub id; mcq: a .jsonl, folder or Hub id.",
        },
    )
    mcq_scoring: Literal["generate", "loglik"] = field(
        default="generate",
        metadata={
            "help": "mcq: generate (outputs are answers; their final letter is scored) or loglik (outputs are a run's option log-prob tables, e.g. its generations/mcq-loglik.jsonl)."
        },
    )
    seed: int = field(default=42, metadata={"help": "Seed for the bootstrap."})
    label: str = field(default="predictions", metadata={"help": "Name of this run in reports and comparisons."})
    model_name: str | None = field(
        default=None, metadata={"help": "The model or API that wrote the predictions, recorded in results.json."}
    )


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


@dataclass
class ReportArguments:
    """`python evaluate.py report <run-folder> ...`: rewrite each run's report.md from its results.json."""

    run_dirs: list[str] = field(metadata={"help": "Run folders whose report.md is rewritten."})


@dataclass(kw_only=True)
class CurveArguments(EvalArguments):
    """`python evaluate.py curve ...`: every checkpoint of a training run evaluated, drawn with its loss.

    The generation, data and scoring flags are a run's (they apply to each checkpoint's run); see
    crosstrace/evaluation/learning_curve.py."""

    training_dir: str = field(
        metadata={
            "help": "The training output folder: its checkpoint-<step> folders, trainer_state.json, train_results.json."
        }
    )
    curve_dir: str = field(metadata={"help": "Where learning_curve.json and learning_curve.png are written."})
    baseline_run: str = field(
        metadata={"help": "The base model's run folder: the curve's step 0 (decoded as this command decodes)."}
    )
    final_run: str = field(
        metadata={"help": "The final adapter's run folder: the curve's last step (decoded as this command decodes)."}
    )
