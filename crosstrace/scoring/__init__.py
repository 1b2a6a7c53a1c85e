"""Every metric of the project, as plain functions (no model needed).

- DACR: `dacr.score_dacr` (strict or reference mode), `dacr_parse.extract_answers` (raw model
  text -> answers), `predictions.load_predictions` (upstream and own prediction files);
- hypothesis generation: `hypothesis.score_hypotheses` (structural compliance, spark and
  hypothesis cosine, ROUGE-L, optional IAScore through `judge.Judge`);
- multiple choice: `mcq.score_mcq` (final letter), `mcq.score_mcq_loglik` (option log-probs).

Each returns a `types.TaskScore`. Submodules are imported lazily by their users: the DACR
scorer does not pull in sentence-transformers.
"""

from crosstrace.scoring.types import TaskScore

__all__ = ["TaskScore"]
