"""CrossTrace: datasets, training and evaluation for scientific-reasoning fine-tuning.

The package is layered; each layer may import only the layers below it (each package's
docstring says what it owns and what it may import; tests/test_layering.py enforces the top):

1. core modules (`errors`, `jsonio`, `paths`, `schema`, `cli`, `hub_folder`, `results_schema`,
   `provenance`, `sanitize`, `number_words`, `tokenization`, `models`, ...): one job each;
2. `engine/` (the challenge engine), then `mcq/` (the question format), then `scoring/` and
   `sources/` (metrics; readers of the upstream formats), then `rewards/` (over `scoring/`),
   and `cards/` (card templates);
3. `builders/` (dataset builds) and the three packages behind the scripts, `training/`
   (train.py), `evaluation/` (evaluate.py) and `publish/` (upload.py), which never import one
   another: what two of them share lives below them.
"""

__version__ = "0.1.0"
