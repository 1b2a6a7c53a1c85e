"""Readers, one per upstream format; each turns a file into records and reports bad lines.

- `crosstrace_release`: the released CrossTrace chat splits (train/val/test, HypoGen test).
- `crosstrace_raw`: upstream's raw `all_traces.jsonl` records (input/trace/output, grounding).
- `hypogen`: HypoGen hub rows (bit, flip, spark, chain_of_reasoning, abstract, title).
- `dacr_bench`: DACR-Bench challenge files.
- `wildsci`: WildSci's ten-option questions (`wildsci.jsonl`).

Every reader takes an `ErrorPolicy` (crosstrace.errors): a bad line raises a `DataError` naming
the file, line and field, or is skipped and recorded under `--on-error skip`.
"""
