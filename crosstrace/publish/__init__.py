"""Publishing behind `upload.py`: staging, checks, push, the model card, the results dataset, the README table.

Owns what is published and how it is checked. May import the core modules (`crosstrace.sanitize`,
`results_schema`, `hub_folder`, `base_configs`, ...) and `cards/`, never `training/` or
`evaluation/`: what it needs from them it reads from their output files (run_metadata.json,
results.json). Enforced by tests/test_layering.py.
"""
