"""WildSci-style ten-option science questions with verifiable answers.

One record per question, in WildSci's format plus `id` and `source` (`record.py`), built by
`python -m crosstrace.builders mcq` (crosstrace/builders/mcq_dataset.py). The pieces:

- `format.py`            letters, prompt, answer line, the record check, letter extraction;
- `record.py`            the format, its pyarrow schema and its validation (WildSci's rules);
- `labels.py`            discipline / nc_domain / nc_subdomain for CrossTrace and engine domains;
- `options.py`           drafts -> lettered records: answer letters balanced over A-J, seeded shuffles;
- `crosstrace_rows.py`   reads the CrossTrace dataset folder;
- `crosstrace_questions.py`  hypothesis matching and reasoning order (CrossTrace records);
- `engine_questions.py`  value lookup, extreme entity and trap value (engine challenges);
- `audit.py`             blind baselines (longest option, word overlap, embedding) and letter balance.

Rules every generator keeps: a question's options come from the same split as the question
(from the same field for CrossTrace, the same challenge for the engine); every shuffle is drawn
from the build seed and the question's id; the ten options are different texts.

`format.py` (letters, prompt, answer line, record check, letter extraction) is what training,
evaluation and the scorers share. May import the core modules (`schema`, `errors`) and `engine/`
(engine questions read its challenges); never `scoring/`, `sources/` or anything above them.
"""

from crosstrace.mcq.format import LETTERS
from crosstrace.mcq.labels import Labels, labels_for
from crosstrace.mcq.options import Draft, assemble
from crosstrace.mcq.record import COLUMNS, SCHEMA, record_problems

__all__ = ["COLUMNS", "LETTERS", "SCHEMA", "Draft", "Labels", "assemble", "labels_for", "record_problems"]
