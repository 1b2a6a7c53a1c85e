"""The three evaluation tasks: which prompts each builds, from which data, and how each is scored.

- `crosstrace`: hypothesis generation. The prompt is a record's own system and user messages
  (field context, conventional assumption, key prior work); the reference is its assistant
  message. Read from a built CrossTrace dataset (a folder or Hub id, any configs, the test split)
  or from the upstream release folder (`test_ours.jsonl`, `test_hypogen.jsonl`). HypoGen records
  are scored with the HypoGen compliance profile.
- `dacr`: one prompt per challenge (the whole document and its questions, JSON answers), from
  DACR-Bench files or engine benchmark files, rendered by `crosstrace.dacr_prompt`. The project's
  template by default; upstream's exact file with `--prompt-template`.
- `mcq`: WildSci-format ten-option questions (A-J) with the project's own prompt, which asks for
  a final line `Answer: X`. Scored from the generated answer's final letter (`generate`), or,
  with `--mcq_scoring loglik`, from the log-probability of each option's continuation
  `Answer: <letter>` right after the prompt (nothing generated; the most likely option is the answer).

Each task turns the model's raw outputs into a `TaskScore` through `crosstrace.scoring` and
gives the per-sample rows for `samples.jsonl`. No row carries third-party reference text
(documents, gold answers, reference hypotheses): only ids, the model's output, what was parsed
from it, and its score.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosstrace.dacr_prompt import DACR_SYSTEM_PROMPT, render_dacr_prompt, template_hash
from crosstrace.errors import DataError, ErrorPolicy, iter_jsonl
from crosstrace.evaluation.prompts import Messages, Prompt
from crosstrace.hub_folder import MANIFEST_NAME, local_split_files, sha256_file
from crosstrace.scoring.types import TaskScore
from crosstrace.sources.crosstrace_release import HYPOGEN_TEST_FILE, RELEASE_FILES, read_chat_file
from crosstrace.sources.dacr_bench import Benchmark, load_benchmark

if TYPE_CHECKING:
    from crosstrace.scoring.judge import Judge


class Task(ABC):
    """A task: prompts to generate from, and a scorer for the outputs."""

    name: str

    def __init__(self) -> None:
        self.input_problems = ErrorPolicy("skip")  # input records that could not be used, counted

    @abstractmethod
    def prompts(self) -> list[Prompt]:
        """Every prompt of the task, in a fixed order."""

    @property
    def outputs_name(self) -> str:
        """The name of the task's file under generations/: outputs of different kinds never share one."""
        return self.name

    @abstractmethod
    def data_info(self) -> dict[str, Any]:
        """What data the task read: names, versions, file checksums, counts (results.json `data`)."""

    @abstractmethod
    def scoring_info(self) -> dict[str, Any]:
        """How outputs are scored (results.json `scoring`)."""

    @abstractmethod
    def score(self, outputs: dict[str, str]) -> TaskScore:
        """Score the raw outputs of the prompts that were generated (keyed by prompt id)."""

    @abstractmethod
    def sample_rows(self, score: TaskScore, outputs: dict[str, str]) -> list[dict[str, Any]]:
        """Per-sample rows for samples.jsonl: id, raw output, parsed answer, score; no reference text."""


# ----------------------------------------------------------------------------- data helpers


def load_built_split(source: str, config: str | None, split: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of one config/split of a hub-ready dataset (local folder or Hub id), and what identifies them."""
    if Path(source).is_dir():
        return _read_local_split(Path(source), config, split)
    import datasets

    try:
        dataset = datasets.load_dataset(source, config, split=split)
    except (OSError, ValueError) as error:  # OSError covers missing files and an unreachable Hub
        raise DataError(
            source, None, None, f"cannot load config {config!r} split {split!r} with datasets: {error}"
        ) from None
    # datasets' fingerprint hashes the downloaded data files: the same data gives the same value.
    return [dict(row) for row in dataset], {
        "source": source,
        "config": config,
        "split": split,
        "rows": len(dataset),
        "fingerprint": dataset._fingerprint,
    }


def _read_local_split(folder: Path, config: str | None, split: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A local folder's parquet files for config/split, read directly (see `local_split_files`)."""
    import pyarrow.parquet as pq

    files = local_split_files(folder, config, split)
    rows = [row for path in files for row in pq.read_table(path).to_pylist()]
    info: dict[str, Any] = {
        "source": folder.name,
        "config": config,
        "split": split,
        "rows": len(rows),
        "files": [{**file_info(p), "file": p.relative_to(folder).as_posix()} for p in files],
    }
    manifest = folder / MANIFEST_NAME
    if manifest.is_file():
        # The build's manifest lists the sha256 of every data file: its own checksum pins the lot.
        info["manifest_sha256"] = sha256_file(manifest)
    return rows, info


def _first_problem(policy: ErrorPolicy) -> str:
    if not policy.skipped:
        return "the data is empty"
    first = policy.skipped[0]
    return (
        f"{len(policy.skipped)} records unusable, e.g. {DataError(first.path, first.line, first.field, first.reason)}"
    )


def file_info(path: Path) -> dict[str, Any]:
    return {"file": path.name, "sha256": sha256_file(path)}


# ----------------------------------------------------------------------------- crosstrace


@dataclass(frozen=True)
class HypothesisItem:
    prompt: Prompt
    reference: str  # the released assistant text: used for scoring, never written out
    profile: str  # compliance profile: "crosstrace" or "hypogen"
    subset: str  # the config it came from (all, biomedical, ..., hypogen)
    domain: str | None


def _prompt_messages(messages: Any, where: str) -> tuple[Messages, str]:
    """A record's [..., user, assistant] messages -> (the prompt messages, the reference assistant text)."""
    if not isinstance(messages, list) or len(messages) < 2:
        raise ValueError(
            f"{where}: expected a list of chat messages ending with the assistant's, got {type(messages).__name__}"
        )
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("content"), str)
            or message.get("role") not in ("system", "user", "assistant")
        ):
            raise ValueError(f"{where}[{index}]: expected {{role: system|user|assistant, content: str}}")
    if messages[-1]["role"] != "assistant" or messages[-2]["role"] != "user":
        raise ValueError(f"{where}: expected the last two messages to be user then assistant")
    return [{"role": m["role"], "content": m["content"]} for m in messages[:-1]], messages[-1]["content"]


class CrossTraceTask(Task):
    name = "crosstrace"

    def __init__(
        self,
        source: str,
        configs: list[str],
        split: str = "test",
        judges: list[Judge] | None = None,
        bootstrap: int = 1000,
        seed: int = 0,
    ):
        super().__init__()
        self.source, self.configs, self.split = source, configs, split
        # The first judge gives IAScore; a second one is only compared with it (agreement).
        self.judges, self.bootstrap, self.seed = list(judges or []), bootstrap, seed
        self.judge = self.judges[0] if self.judges else None
        self._data: dict[str, Any] = {"configs": {}}
        self._used: Counter[str] | None = None  # records scored per config, once score() has run
        self.items: list[HypothesisItem] = []
        folder = Path(source)
        if (folder / RELEASE_FILES["test"]).is_file():
            self._load_release(folder)
        else:
            self._load_built()
        if not self.items:
            raise DataError(
                source, None, None, f"no usable record in configs {configs} ({_first_problem(self.input_problems)})"
            )
        ids = Counter(item.prompt.id for item in self.items)
        duplicated = sorted(i for i, n in ids.items() if n > 1)
        if duplicated:
            raise DataError(source, None, "id", f"{len(duplicated)} duplicate record ids, e.g. {duplicated[:3]}")

    def _load_release(self, folder: Path) -> None:
        """The upstream release: config `all` is test_ours.jsonl, `hypogen` test_hypogen.jsonl, a domain filters `all`."""
        if self.split != "test":
            raise DataError(
                folder,
                None,
                None,
                f"the release folder is read for its test files only; --split {self.split!r} needs a built dataset",
            )
        for config in self.configs:
            profile = "hypogen" if config == "hypogen" else "crosstrace"
            path = folder / (HYPOGEN_TEST_FILE if profile == "hypogen" else RELEASE_FILES["test"])
            records = read_chat_file(path, profile, self.input_problems)
            if config not in ("all", "hypogen"):
                records = [r for r in records if r.record.domain == config]
                if not records:
                    raise DataError(path, None, "metadata.domain", f"no test record has domain {config!r}")
            for source_record in records:
                *prompt_messages, reference = source_record.record.to_messages()  # checked by read_chat_file
                prompt = Prompt(id=f"{config}/{path.stem}:{source_record.line}", messages=prompt_messages)
                self.items.append(
                    HypothesisItem(prompt, reference["content"], profile, config, source_record.record.domain)
                )
            self._data["configs"][config] = {**file_info(path), "rows": len(records)}
        self._data["source"] = "CrossTrace release files"

    def _load_built(self) -> None:
        for config in self.configs:
            rows, info = load_built_split(self.source, config, self.split)
            used = 0
            for index, row in enumerate(rows):
                try:
                    prompt_messages, reference = _prompt_messages(row.get("messages"), "messages")
                    row_id = row.get("id")
                    if not isinstance(row_id, str) or not row_id:
                        raise ValueError("id: missing or not a string")
                except ValueError as error:
                    field_name, _, reason = str(error).partition(": ")
                    self.input_problems.handle(
                        DataError(f"{self.source}[{config}/{self.split}]", index + 1, field_name, reason)
                    )
                    continue
                profile = "hypogen" if config == "hypogen" or row.get("source") == "hypogen" else "crosstrace"
                prompt = Prompt(id=f"{config}/{row_id}", messages=prompt_messages)
                self.items.append(HypothesisItem(prompt, reference, profile, config, row.get("domain")))
                used += 1
            self._data["configs"][config] = {**info, "loaded": used}
        self._data["source"] = "built dataset"

    def prompts(self) -> list[Prompt]:
        return [item.prompt for item in self.items]

    def data_info(self) -> dict[str, Any]:
        """`used` per config: records actually scored (after --max_samples and the context), once scored."""
        configs = {
            name: {**info, **({"used": self._used[name]} if self._used is not None else {})}
            for name, info in self._data["configs"].items()
        }
        return {
            **self._data,
            "configs": configs,
            "split": self.split,
            "records": len(self.items),
            **({"evaluated": sum(self._used.values())} if self._used is not None else {}),
            "input_problems": len(self.input_problems.skipped),
        }

    def scoring_info(self) -> dict[str, Any]:
        from crosstrace.schema import COMPLIANCE_VERSION

        return {
            "compliance_version": COMPLIANCE_VERSION,
            "judge": self.judge.config.describe() if self.judge else None,
            **({"second_judge": self.judges[1].config.describe()} if len(self.judges) > 1 else {}),
        }

    def _scored_items(self, outputs: dict[str, str]) -> list[HypothesisItem]:
        return [item for item in self.items if item.prompt.id in outputs]

    def score(self, outputs: dict[str, str]) -> TaskScore:
        from crosstrace.scoring.hypothesis import score_hypotheses

        items = self._scored_items(outputs)
        self._used = Counter({config: 0 for config in self._data["configs"]})
        self._used.update(i.subset for i in items)
        return score_hypotheses(
            [i.reference for i in items],
            [outputs[i.prompt.id] for i in items],
            [i.profile for i in items],
            judge=self.judge,
            second_judge=self.judges[1] if len(self.judges) > 1 else None,
            # The judge sees what the model saw: the record's research context (the user message).
            contexts=[i.prompt.messages[-1]["content"] for i in items],
            ids=[i.prompt.id for i in items],
            groups={"subset": [i.subset for i in items], "domain": [i.domain or "unknown" for i in items]},
            bootstrap=self.bootstrap,
            seed=self.seed,
        )

    def sample_rows(self, score: TaskScore, outputs: dict[str, str]) -> list[dict[str, Any]]:
        items = self._scored_items(outputs)
        return [
            {
                **sample_row(self.name, item.prompt.id, outputs[item.prompt.id], row),
                "subset": item.subset,
                "domain": item.domain,
            }
            for item, row in zip(items, score.samples, strict=True)
        ]


# Scorer row keys that samples.jsonl replaces with its own (task, id, raw_output), and keys that
# would carry third-party reference text, should a scorer ever add them: never written.
_REPLACED_KEYS = frozenset({"id", "index", "output"})
_REFERENCE_KEYS = frozenset(
    {"reference", "gold", "goldAnswer", "gold_answer", "goldAnswerAliases", "document", "question", "options"}
)


def sample_row(task: str, sample_id: str, raw_output: str | None, scored: dict[str, Any]) -> dict[str, Any]:
    """One samples.jsonl row: task, id, the model's raw output, then what the scorer parsed and decided."""
    kept = {k: v for k, v in scored.items() if k not in _REPLACED_KEYS and k not in _REFERENCE_KEYS}
    return {"task": task, "id": sample_id, "raw_output": raw_output, **kept}


# ----------------------------------------------------------------------------- dacr


def _read_template(path: str) -> str:
    from crosstrace.dacr_prompt import check_template

    if not Path(path).is_file():
        raise DataError(path, None, None, "prompt template file not found")
    template = Path(path).read_text(encoding="utf-8")
    try:
        check_template(template)
    except ValueError as error:
        raise DataError(path, None, None, str(error)) from None
    return template


class DacrTask(Task):
    name = "dacr"

    def __init__(
        self,
        benchmark_files: list[str],
        split: str = "all",
        template_file: str | None = None,
        mode: str = "strict",
        bootstrap: int = 1000,
        seed: int = 0,
    ):
        super().__init__()
        self.mode, self.bootstrap, self.seed = mode, bootstrap, seed
        self.template = _read_template(template_file) if template_file else None
        self.template_name = Path(template_file).name if template_file else "crosstrace default"
        self.benchmarks: list[Benchmark] = [load_benchmark(path, self.input_problems) for path in benchmark_files]
        self.challenges: list[dict[str, Any]] = []
        seen: dict[str, str] = {}
        for bench in self.benchmarks:
            for challenge in bench.challenges:
                challenge_id = challenge["challengeId"]
                if challenge_id in seen:
                    raise DataError(
                        bench.path,
                        None,
                        "challengeId",
                        f"{challenge_id!r} is also in {seen[challenge_id]}: evaluate the two files in separate runs",
                    )
                seen[challenge_id] = Path(bench.path).name
                if split in ("all", challenge["split"]):
                    self.challenges.append(challenge)

        if not self.challenges:
            raise DataError(
                ", ".join(benchmark_files),
                None,
                "challenges",
                f"no challenge to evaluate (split filter {split!r}, {len(self.input_problems.skipped)} unusable records)",
            )

    def _messages(self, challenge: dict[str, Any], document: str | None = None) -> Messages:
        if document is not None:
            challenge = {**challenge, "document": {**challenge["document"], "text": document}}
        user = {"role": "user", "content": render_dacr_prompt(challenge, self.template)}
        if self.template is not None:
            # Upstream's own template is sent as upstream's harness sends it: a lone user message.
            return [user]
        # Our template is evaluated under the system message our dacr-traces rows train with, so
        # the model sees at test time what it saw in training (and Qwen's template does not
        # inject its default system prompt instead).
        return [{"role": "system", "content": DACR_SYSTEM_PROMPT}, user]

    def prompts(self) -> list[Prompt]:
        return [
            Prompt(
                id=challenge["challengeId"],
                messages=self._messages(challenge),
                document=challenge["document"]["text"],
                with_document=lambda text, challenge=challenge: self._messages(challenge, text),
            )
            for challenge in self.challenges
        ]

    def data_info(self) -> dict[str, Any]:
        benchmarks = {}
        for bench in self.benchmarks:
            summary = bench.summary()
            summary["file"] = Path(summary.pop("path")).name
            benchmarks[bench.name] = summary
        return {
            "benchmarks": benchmarks,
            "challenges": len(self.challenges),
            "questions": sum(len(c["questions"]) for c in self.challenges),
            "input_problems": len(self.input_problems.skipped),
        }

    def scoring_info(self) -> dict[str, Any]:
        from crosstrace.scoring.dacr import scoring_info

        return {
            **scoring_info(self.mode),
            "prompt_template": self.template_name,
            "template_hash": template_hash(self.template),
        }

    def score(self, outputs: dict[str, str]) -> TaskScore:
        """Parse each raw output into answers, then score the challenges that were generated."""
        from crosstrace.scoring.dacr_parse import extract_answers

        question_ids = {c["challengeId"]: [q["questionId"] for q in c["questions"]] for c in self.challenges}
        predictions, problems = {}, []
        for challenge_id, raw in outputs.items():
            answers, problem = extract_answers(raw, question_ids=question_ids.get(challenge_id))
            predictions[challenge_id] = answers
            if problem:
                problems.append({"id": challenge_id, "problem": problem})
        generated = [c for c in self.challenges if c["challengeId"] in outputs]
        score = self.score_predictions(predictions, generated)
        score.problems = problems + list(score.problems)
        return score

    def score_predictions(
        self, predictions: dict[str, dict[str, Any]], challenges: list[dict[str, Any]] | None = None
    ) -> TaskScore:
        """Score parsed answers ({challengeId: {qid: entry}}) against `challenges` (default: every
        selected challenge; the scoring mode decides what a challenge without answers counts as)."""
        from crosstrace.scoring.dacr import score_dacr

        return score_dacr(
            self.challenges if challenges is None else challenges,
            predictions,
            mode=self.mode,
            bootstrap=self.bootstrap,
            seed=self.seed,
        )

    def sample_rows(self, score: TaskScore, outputs: dict[str, str]) -> list[dict[str, Any]]:
        # The raw output answers all of a challenge's questions at once: each question's row carries it.
        return [
            sample_row(self.name, f"{row['challenge_id']}/{row['question_id']}", outputs.get(row["challenge_id"]), row)
            for row in score.samples
        ]


# ----------------------------------------------------------------------------- mcq

MCQ_LETTERS = "ABCDEFGHIJ"
MCQ_SCORING_MODES = ("generate", "loglik")
# loglik: the reply each option is scored as, the final line MCQ_TEMPLATE asks for, put right
# where the assistant's turn opens. Every option's text has the same tokens but its letter.
MCQ_LOGLIK_CONTINUATION = "Answer: {letter}"
# Per-option log-probs are summed over the continuation's tokens (not averaged per token).
MCQ_LOGLIK_NORMALIZATION = "sum"

MCQ_TEMPLATE = """Answer the following multiple-choice question. Exactly one of the options is correct.

Question: {question}

Options:
{options}

You may reason briefly first. Then give your final answer on the last line, in the form "Answer: X", where X is the letter of the correct option."""


def render_mcq_prompt(record: dict[str, Any]) -> str:
    options = "\n".join(f"{letter}. {text}" for letter, text in record["options"].items())
    return MCQ_TEMPLATE.replace("{question}", record["question"].strip()).replace("{options}", options)


def check_mcq_record(record: dict[str, Any]) -> dict[str, Any]:
    """A WildSci-format record with its options in letter order; raises ValueError('field: reason')."""
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question: missing or empty")
    options = record.get("options")
    if not isinstance(options, dict):
        raise ValueError(f"options: expected an object of letter -> text, got {type(options).__name__}")
    present = {k: v for k, v in options.items() if v is not None}
    letters = "".join(sorted(present))
    if len(letters) < 2 or not MCQ_LETTERS.startswith(letters):
        raise ValueError(f"options: expected consecutive letters from A (up to J), got {sorted(present)}")
    for letter, text in present.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"options.{letter}: missing or empty")
    answer = record.get("answer")
    if not isinstance(answer, str) or answer not in present:
        raise ValueError(f"answer: expected one of the option letters {letters}, got {answer!r}")
    return {**record, "options": {letter: present[letter] for letter in letters}}


def parse_option_logprobs(output: str, letters: str) -> dict[str, float | None]:
    """A stored loglik output (JSON {letter: log-prob or null}) for a question with options `letters`;
    raises ValueError saying what is wrong."""
    try:
        table = json.loads(output)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a JSON table of option log-probs ({error.msg})") from None
    if not isinstance(table, dict) or sorted(table) != sorted(letters):
        raise ValueError(
            f"expected log-probs for exactly the options {letters}, got {sorted(table) if isinstance(table, dict) else type(table).__name__}"
        )
    bad = [k for k, v in table.items() if v is not None and (isinstance(v, bool) or not isinstance(v, int | float))]
    if bad:
        raise ValueError(f"option(s) {bad}: log-prob is not a number")
    return table


class McqTask(Task):
    name = "mcq"

    def __init__(
        self,
        source: str,
        config: str | None = None,
        split: str = "test",
        bootstrap: int = 1000,
        seed: int = 0,
        scoring: str = "generate",
    ):
        super().__init__()
        if scoring not in MCQ_SCORING_MODES:
            raise ValueError(f"mcq scoring {scoring!r}: choose among {', '.join(MCQ_SCORING_MODES)}")
        self.bootstrap, self.seed, self.scoring = bootstrap, seed, scoring
        self.records: list[dict[str, Any]] = []
        self.ids: list[str] = []
        path = Path(source)
        if path.is_file():
            self._info = {"source": "jsonl file", **file_info(path)}
            numbered = ((f"{path.stem}:{line}", line, obj) for line, obj in iter_jsonl(path, self.input_problems))
            where = str(path)
        else:
            rows, self._info = load_built_split(source, config, split)
            numbered = (
                (row.get("id") or f"{config or 'default'}:{index + 1}", index + 1, row)
                for index, row in enumerate(rows)
            )
            where = f"{source}[{config}/{split}]"
        for fallback_id, line, raw in numbered:
            try:
                record = check_mcq_record(raw)
            except ValueError as error:
                field_name, _, reason = str(error).partition(": ")
                self.input_problems.handle(DataError(where, line, field_name, reason))
                continue
            record_id = str(raw.get("id") or fallback_id)
            self.records.append(record)
            self.ids.append(record_id)
        if not self.records:
            raise DataError(source, None, None, f"no usable MCQ record ({_first_problem(self.input_problems)})")
        duplicated = sorted(i for i, n in Counter(self.ids).items() if n > 1)
        if duplicated:
            raise DataError(source, None, "id", f"{len(duplicated)} duplicate record ids, e.g. {duplicated[:3]}")

    @property
    def outputs_name(self) -> str:
        # Option log-prob tables and generated answers of one run folder are kept apart.
        return "mcq-loglik" if self.scoring == "loglik" else self.name

    def prompts(self) -> list[Prompt]:
        return [
            Prompt(
                id=i,
                messages=[{"role": "user", "content": render_mcq_prompt(r)}],
                continuations={letter: MCQ_LOGLIK_CONTINUATION.format(letter=letter) for letter in r["options"]}
                if self.scoring == "loglik"
                else None,
            )
            for i, r in zip(self.ids, self.records, strict=True)
        ]

    def data_info(self) -> dict[str, Any]:
        return {**self._info, "records": len(self.records), "input_problems": len(self.input_problems.skipped)}

    def scoring_info(self) -> dict[str, Any]:
        template_hash = hashlib.sha256(MCQ_TEMPLATE.encode("utf-8")).hexdigest()[:16]
        if self.scoring == "loglik":
            return {
                "mcq_scoring": "loglik",
                "continuation": MCQ_LOGLIK_CONTINUATION,
                "normalization": MCQ_LOGLIK_NORMALIZATION,
                "selection": "the option whose continuation is most likely right after the prompt (a tie at the top is wrong)",
                "prompt_template_hash": template_hash,
            }
        return {
            "mcq_scoring": "generate",
            "extraction": "final letter (an answer naming two letters is wrong)",
            "prompt_template_hash": template_hash,
        }

    def _scored(self, outputs: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
        return [(i, r) for i, r in zip(self.ids, self.records, strict=True) if i in outputs]

    def score(self, outputs: dict[str, str]) -> TaskScore:
        from crosstrace.scoring.mcq import score_mcq, score_mcq_loglik

        scored = self._scored(outputs)
        records = [r for _, r in scored]
        if self.scoring == "generate":
            return score_mcq(records, [outputs[i] for i, _ in scored], bootstrap=self.bootstrap, seed=self.seed)
        tables, problems = [], []
        for record_id, record in scored:
            try:
                tables.append(parse_option_logprobs(outputs[record_id], "".join(record["options"])))
            except ValueError as error:
                problems.append({"id": record_id, "problem": f"{error}; scored as no answer"})
                tables.append({})
        score = score_mcq_loglik(
            records, tables, normalization=MCQ_LOGLIK_NORMALIZATION, bootstrap=self.bootstrap, seed=self.seed
        )
        score.problems = problems + list(score.problems)
        return score

    def sample_rows(self, score: TaskScore, outputs: dict[str, str]) -> list[dict[str, Any]]:
        scored = self._scored(outputs)
        return [sample_row(self.name, i, outputs[i], row) for (i, _), row in zip(scored, score.samples, strict=True)]
