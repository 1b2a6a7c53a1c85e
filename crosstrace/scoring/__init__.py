"""Every metric of the project, as plain functions (no model needed).

- DACR: `dacr.score_dacr` (strict or reference mode), `dacr_verdict.judge_answer` (one answer
  to one question), `dacr_parse.extract_answers` (raw model text -> answers),
  `predictions.load_predictions` (upstream and own prediction files). Inside: `dacr_rules` (one
  rules object per mode) over `dacr_strict` (with `quantities`, `folding`, `dacr_citation`) and
  `dacr_reference`; `dacr_prepare` (prepared questions, caches), `dacr_aggregate` (metrics);
- hypothesis generation: `hypothesis.score_hypotheses` (structural compliance, spark and
  hypothesis cosine, ROUGE-L, optional IAScore through `judge.Judge`; `judge_stats`: the judge's
  spread over repeats and two judges' agreement);
- multiple choice: `mcq.score_mcq` (final letter), `mcq.score_mcq_loglik` (option log-probs).

Each returns a `types.TaskScore`. Submodules are imported lazily by their users: the DACR
scorer does not pull in sentence-transformers.

May import the core modules (`schema`, `number_words`, `embeddings`, `errors`) and `mcq.format`
(the letter rule); never `sources/` (callers hand it challenges and predictions) or anything above.
"""

from crosstrace.scoring.types import TaskScore

__all__ = ["TaskScore"]
