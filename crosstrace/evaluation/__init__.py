"""Evaluation behind `evaluate.py`: tasks, backends, resumable generation, results, reports.

arguments.py          the command-line dataclasses (run, score, compare)
tasks/                crosstrace / dacr / mcq behind one interface: prompts, parsing, scoring, report pieces
predictions_format.py the predictions files `score` reads, told apart (auto) or checked (stated)
prompts.py            the prompt type and the long-document policy (skip or truncate, always counted)
backends/             hf (transformers + peft), vllm (LoRA request), openai (any compatible server)
runner.py             resumable generation: outputs appended and fsync'ed as they come
results.py            results.json and samples.jsonl
missing_metrics.py    the one exit rule when a metric asked for could not be measured (--allow_missing_metrics)
report.py             report.md from results.json
plots.py              per-skill bars and the reliability diagram (PNG)
compare.py            the baseline / fine-tuned / delta table
paired.py             compare's deltas: a paired bootstrap over the records both runs scored
pipeline.py           the sub-commands put together

May import the core modules, `scoring/`, `sources/` and `mcq/` (the MCQ format), never
`training/` or `publish/` (tests/test_layering.py); the results.json schema it writes is
`crosstrace.results_schema`, shared with publishing.
"""
