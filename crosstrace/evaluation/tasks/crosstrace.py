"""The `crosstrace` task: hypothesis generation.

The prompt is a record's own system and user messages (field context, conventional assumption,
key prior work); the reference is its assistant message. Read from a built CrossTrace dataset (a
folder or Hub id, any configs, the test split) or from the upstream release folder
(`test_ours.jsonl`, `test_hypogen.jsonl`). HypoGen records are scored with the HypoGen
compliance profile; with a judge model, IAScore too (its replies kept in the run folder).
"""

from __future__ import annotations

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
from crosstrace.schema import record_id
from crosstrace.scoring.types import TaskScore
from crosstrace.sources.crosstrace_release import HYPOGEN_TEST_FILE, RELEASE_FILES, read_chat_file

if TYPE_CHECKING:
    from crosstrace.scoring.judge import Judge

JUDGE_LOG_NAME = "judge_outputs.jsonl"


def build_judge(args):
    """The IAScore judge when a judge model is named (flag or $CROSSTRACE_JUDGE_MODEL), else None.

    Replies are cached outside the results folder (they quote reference ideas): reruns cost nothing."""
    from crosstrace.scoring.judge import ENV_MODEL, Judge, JudgeConfig
    from crosstrace.tokenization import cache_dir

    model = args.judge_model or os.environ.get(ENV_MODEL)
    if not model:
        return None
    try:
        config = JudgeConfig.from_env(
            base_url=args.judge_base_url,
            model=model,
            api_key=os.environ.get(args.judge_api_key_env),
            cache_dir=str(cache_dir() / "judge"),
        )
    except ValueError as error:
        raise BackendError(str(error)) from None
    return Judge(config, seed=args.seed)


@dataclass(frozen=True)
class HypothesisItem:
    prompt: Prompt
    reference: str  # the released assistant text: used for scoring, never written out
    profile: str  # compliance profile: "crosstrace" or "hypogen"
    subset: str  # the config it came from (all, biomedical, ..., hypogen)
    domain: str | None
    published_id: str  # the record's `id` in the published dataset (predictions may be keyed by it)


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
    skill_dimension = "subset"

    def __init__(
        self,
        source: str,
        configs: list[str],
        split: str = "test",
        judge: Judge | None = None,
        bootstrap: int = 1000,
        seed: int = 0,
    ):
        super().__init__()
        self.source, self.configs, self.split = source, configs, split
        self.judge, self.bootstrap, self.seed = judge, bootstrap, seed
        self._data: dict[str, Any] = {"configs": {}}
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
            judge=build_judge(args),
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
                        raise ValueError("id: missing or not a string")
                except ValueError as error:
                    field_name, _, reason = str(error).partition(": ")
                    self.input_problems.handle(
                        DataError(f"{self.source}[{config}/{self.split}]", index + 1, field_name, reason)
                    )
                    continue
                profile = "hypogen" if config == "hypogen" or row.get("source") == "hypogen" else "crosstrace"
                prompt = Prompt(id=f"{config}/{row_id}", messages=prompt_messages)
                self.items.append(HypothesisItem(prompt, reference, profile, config, row.get("domain"), row_id))
                used += 1
            self._data["configs"][config] = {**info, "used": used}
        self._data["source"] = "built dataset"

    def prompts(self) -> list[Prompt]:
        return [item.prompt for item in self.items]

    def id_aliases(self) -> dict[str, dict[str, str]]:
        """The published dataset's `id` of each record (a built folder's `id` column; for the release
        files, the id the dataset build gives the record) -> {config: prompt id}."""
        return self._aliases

    def data_info(self) -> dict[str, Any]:
        return {
            **self._data,
            "split": self.split,
            "records": len(self.items),
            "input_problems": len(self.input_problems.skipped),
        }

    def scoring_info(self) -> dict[str, Any]:
        from crosstrace.schema import COMPLIANCE_VERSION

        return {
            "compliance_version": COMPLIANCE_VERSION,
            "judge": self.judge.config.describe() if self.judge else None,
        }

    def _scored_items(self, outputs: dict[str, str]) -> list[HypothesisItem]:
        return [item for item in self.items if item.prompt.id in outputs]

    def score_parsed(self, parsed: dict[str, str]) -> TaskScore:
        from crosstrace.scoring.hypothesis import score_hypotheses

        items = self._scored_items(parsed)
        return score_hypotheses(
            [i.reference for i in items],
            [parsed[i.prompt.id] for i in items],
            [i.profile for i in items],
            judge=self.judge,
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
        if self.judge is None or not self.judge.log:
            return []
        return [self.judge.write_log(run_dir / JUDGE_LOG_NAME)]  # every judge reply, beside the scores it gave
