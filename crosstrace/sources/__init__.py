"""Readers, one per upstream format; each turns a file into records and reports bad lines.

- `crosstrace_release`: the released CrossTrace chat splits (train/val/test, HypoGen test).
- `crosstrace_raw`: upstream's raw `all_traces.jsonl` records (input/trace/output, grounding).
- `hypogen`: HypoGen hub rows (bit, flip, spark, chain_of_reasoning, abstract, title).
- `dacr_bench`: DACR-Bench challenge files.
- `dacr_tuning`: the upstream DACR tuning rows (prompt, response, reward).
- `wildsci`: WildSci's ten-option questions (`wildsci.jsonl`).
- `reader`: what the line-based readers share (rows of .jsonl/.parquet/.json files, one record per row).

Every reader takes an `ErrorPolicy` (crosstrace.errors): a bad line raises a `DataError` naming
the file, line and field, or is skipped and recorded under `--on-error skip`. The formats are
described in docs/upstream-formats.md.

May import the core modules, `engine/` (the trace-row schema upstream tuning rows become) and
`mcq/` (WildSci's record check); never `scoring/` or anything above.
"""
