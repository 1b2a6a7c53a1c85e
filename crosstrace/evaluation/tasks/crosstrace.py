"""The `crosstrace` task: hypothesis generation.

The prompt is a record's own system and user messages (field context, conventional assumption,
key prior work); the reference is its assistant message. Read from a built CrossTrace dataset (a
folder or Hub id, any configs, the test split) or from the upstream release folder
(`test_ours.jsonl`, `test_hypogen.jsonl`). HypoGen records are scored with the HypoGen
compliance profile; with a judge model, IAScore too (its replies kept in the run folder).
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosstrace import paths
from crosstrace.errors import DataError
from crosstrace.evaluation.arguments import split_list
from crosstrace.evaluation.backends.base import BackendError
from crosstrace.evaluation.prompts import Messages, Prompt
from crosstrace.evaluation.tasks.base import Task, file_info, first_problem, sample_row
from crosstrace.evaluation.tasks.built_split import load_built_split
from crosstrace.schema import SchemaError, chat_messages, record_id
from crosstrace.scoring.types import TaskScore
from crosstrace.sources.crosstrace_release import HYPOGEN_TEST_FILE, RELEASE_FILES, read_chat_file

if TYPE_CHECKING:
    from crosstrace.scoring.judge import Judge

logger = logging.getLogger(__name__)

JUDGE_LOG_NAME = "judge_outputs.jsonl"
SECOND_JUDGE_LOG_NAME = "judge_outputs_second.jsonl"


def build_judges(args) -> list[Judge]:
    """The IAScore judge(s) when a judge model is named (flag or $CROSSTRACE_JUDGE_MODEL), else [].

    `--judge_model a,b` gives two judges (b's agreement with a is reported); `--judge_base_url` and
    `--judge_api_key_env` list one value per judge, or one for both. Each key is read from the
    judge's own variable: the model's key (`--api_key_env`) is never sent to a judge host.
    Replies are cached outside the results folder (they quote reference ideas): reruns cost nothing."""
    from crosstrace.scoring.judge import ENV_MODEL, Judge, JudgeConfig
    from crosstrace.tokenization import cache_dir

    models = split_list(args.judge_model or os.environ.get(ENV_MODEL))
    if not models:
        return []
    base_urls = split_list(args.judge_base_url) or [None]
    key_envs = split_list(args.judge_api_key_env)
    if len(models) > 2 or any(len(values) not in (1, len(models)) for values in (base_urls, key_envs)):
        raise BackendError(
            f"--judge_model names {len(models)} judge(s) (at most 2): give --judge_base_url and "
            "--judge_api_key_env once for all, or once per judge"
        )
    model_key_env = getattr(args, "api_key_env", None)  # `score` has no model, so no model key
    judges = []
    for index, model in enumerate(models):
        key_env = key_envs[index % len(key_envs)]
        if key_env == model_key_env:
            logger.warning("the judge %s reads its key from %s, the model's own key variable", model, key_env)
        try:
            config = JudgeConfig.from_env(
                base_url=base_urls[index % len(base_urls)],
                model=model,
                api_key=os.environ.get(key_env),
                cache_dir=str(cache_dir() / "judge"),
                temperature=args.judge_temperature,
                seed=args.judge_seed,
                repeats=args.judge_repeats,
                max_tokens=args.judge_max_tokens,
                timeout_s=args.judge_timeout,
                max_retries=args.judge_max_retries,
                concurrency=args.judge_concurrency,
            )
        except ValueError as error:
            raise BackendError(str(error)) from None
        judges.append(Judge(config, seed=args.seed))
    return judges


@dataclass(frozen=True)
class HypothesisItem:
    prompt: Prompt
    reference: str  # the released assistant text: used for scoring, never written out
    profile: str  # compliance profile: "crosstrace" or "hypogen"
    subset: str  # the config it came from (all, biomedical, ..., hypogen)
    domain: str | None
    published_id: str  # the record's `id` in the published dataset (predictions may be keyed by it)


def _prompt_messages(value: Any, where: str) -> tuple[Messages, str]:
    """A record's [..., user, assistant] messages -> (the prompt messages, the reference assistant text)."""
    messages = chat_messages(value, where)
    if len(messages) < 2 or messages[-1]["role"] != "assistant" or messages[-2]["role"] != "user":
        raise SchemaError(where, "expected the last two messages to be user then assistant")
    return messages[:-1], messages[-1]["content"]


class CrossTraceTask(Task):
    name = "crosstrace"
    skill_dimension = "subset"

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
        self._scored: Counter[str] | None = None  # records scored per config, once scoring has run
        self.items: list[HypothesisItem] = []
        folder = Path(source)
        if (folder / RELEASE_FILES["test"]).is_file():
            self._load_release(folder)
        else:
            self._load_built()
        if not self.items:
            raise DataError(
                source, None, None, f"no usable record in configs {configs} ({first_problem(self.input_problems)})"
            )
        ids = Counter(item.prompt.id for item in self.items)
        duplicated = sorted(i for i, n in ids.items() if n > 1)
        if duplicated:
            raise DataError(source, None, "id", f"{len(duplicated)} duplicate record ids, e.g. {duplicated[:3]}")
        self._aliases: dict[str, dict[str, str]] = {}
        for item in self.items:
            self._aliases.setdefault(item.published_id, {})[item.subset] = item.prompt.id

    @classmethod
    def for_run(cls, args) -> CrossTraceTask:
        source = cls.data_or_default(
            args.crosstrace_data, "--crosstrace_data", "a built CrossTrace folder, Hub id or the release folder"
        )
        return cls.for_score(args, source)

    @classmethod
    def for_score(cls, args, data: str) -> CrossTraceTask:
        return cls(
            data,
            split_list(args.crosstrace_configs),
            args.split,
            judges=build_judges(args),
            bootstrap=args.bootstrap,
            seed=args.seed,
        )

    @classmethod
    def default_data(cls) -> Path | None:
        return paths.crosstrace_release_dir()

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
                    HypothesisItem(
                        prompt,
                        reference["content"],
                        profile,
                        config,
                        source_record.record.domain,
                        record_id(source_record.record),
                    )
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
                        raise SchemaError("id", "missing or not a string")
                except SchemaError as error:
                    self.input_problems.handle(
                        DataError(f"{self.source}[{config}/{self.split}]", index + 1, error.field, error.reason)
                    )
                    continue
                profile = "hypogen" if config == "hypogen" or row.get("source") == "hypogen" else "crosstrace"
                prompt = Prompt(id=f"{config}/{row_id}", messages=prompt_messages)
                self.items.append(HypothesisItem(prompt, reference, profile, config, row.get("domain"), row_id))
                used += 1
            self._data["configs"][config] = {**info, "loaded": used}
        self._data["source"] = "built dataset"

    def prompts(self) -> list[Prompt]:
        return [item.prompt for item in self.items]

    def id_aliases(self) -> dict[str, dict[str, str]]:
        """The published dataset's `id` of each record (a built folder's `id` column; for the release
        files, the id the dataset build gives the record) -> {config: prompt id}."""
        return self._aliases

    def data_info(self) -> dict[str, Any]:
        """Per config: `rows` read, `loaded` usable records, and once scored `used`, the records actually
        scored (after --max_samples, the context and missing predictions); `evaluated` is their total."""
        configs = {
            name: {**info, **({"used": self._scored[name]} if self._scored is not None else {})}
            for name, info in self._data["configs"].items()
        }
        return {
            **self._data,
            "configs": configs,
            "split": self.split,
            "records": len(self.items),
            **({"evaluated": sum(self._scored.values())} if self._scored is not None else {}),
            "input_problems": len(self.input_problems.skipped),
        }

    def scoring_info(self) -> dict[str, Any]:
        from crosstrace.schema import COMPLIANCE_VERSION

        return {
            "compliance_version": COMPLIANCE_VERSION,
            "judge": self.judge.config.describe() if self.judge else None,
            **({"second_judge": self.judges[1].config.describe()} if len(self.judges) > 1 else {}),
        }

    def missing_metrics(self, score: TaskScore) -> dict[str, str]:
        """IAScore, when a judge was named and it has no value, and why (from the judge's outcomes)."""
        value = score.metrics.get("iascore")
        if self.judge is None or (isinstance(value, float | int) and math.isfinite(value)):
            return {}
        outcomes = score.extra.get("judge_outcomes")
        if not outcomes:
            return {"iascore": "no output was scored, so nothing was sent to the judge"}
        why = (
            f"the judge scored none of {outcomes['pairs']} pair(s): {outcomes['failed']} request(s) failed, "
            f"{outcomes['unreadable']} reply(ies) had no readable score"
        )
        if outcomes.get("stopped_sending"):
            why += f"; stopped sending because {outcomes['stopped_sending']}"
        if outcomes.get("first_error"):
            why += f"; first error: {outcomes['first_error']}"
        return {"iascore": why}

    def _scored_items(self, outputs: dict[str, str]) -> list[HypothesisItem]:
        return [item for item in self.items if item.prompt.id in outputs]

    def score_parsed(self, parsed: dict[str, str]) -> TaskScore:
        from crosstrace.scoring.hypothesis import score_hypotheses

        items = self._scored_items(parsed)
        self._scored = Counter({config: 0 for config in self._data["configs"]})
        self._scored.update(i.subset for i in items)
        return score_hypotheses(
            [i.reference for i in items],
            [parsed[i.prompt.id] for i in items],
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

    def write_side_files(self, run_dir: Path) -> list[Path]:
        """Every judge reply, beside the scores it gave (the second judge's in its own file)."""
        names = (JUDGE_LOG_NAME, SECOND_JUDGE_LOG_NAME)
        return [judge.write_log(run_dir / name) for judge, name in zip(self.judges, names, strict=False) if judge.log]
