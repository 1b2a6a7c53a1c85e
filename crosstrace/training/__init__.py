"""Training behind `train.py`: the dataset mixture, the length report, run metadata, the time estimate, GRPO.

Owns what a training run reads and records. May import the core modules (`hub_folder`, `schema`,
`sanitize`, `provenance`, ...), `mcq.format` (to train on the exact MCQ prompt evaluation asks with)
and `rewards/` (GRPO's reward functions), never `evaluation/` or `publish/`: what they need from a
run they read from run_metadata.json (tests/test_layering.py enforces this).
"""
