"""The procedural document-challenge engine: seeded, deterministic, independently verified.

    from crosstrace.engine import generate_challenge, DOMAINS
    challenge = generate_challenge(seed=7)                    # a DACR-Bench challenge dict
    challenge = generate_challenge(seed=7, domain="economics", n_questions=12, target_chars=15000)

Modules: `spec` (what a domain declares), `domains/` (the libraries), `world` (hidden truth),
`document` (rendering, traps, hedges), `questions` (the seven categories as programs),
`verify` (re-read the text and re-solve), `generate` (assembly, rejection and regeneration),
`traces` (step-by-step training traces), `records` (the dataset rows), `audit` (shortcut audit),
`numbers` (exact arithmetic and answer spellings), `lexicon` (shared wording and authority cues).

Dataset: `python -m crosstrace.builders dacr-traces --n 5000 --seed 0 --out build/dacr-traces`.
Figures: `python bench/bench_engine.py`.

May import only the core modules it writes with (`number_words`, `dacr_prompt`): the engine sits
below every other package, which may read its challenges.
"""

from crosstrace.engine.domains import DOMAINS, HELDOUT_DOMAINS, TRAIN_DOMAINS
from crosstrace.engine.generate import ENGINE_VERSION, EngineError, generate_challenge
from crosstrace.engine.verify import verify_challenge

__all__ = [
    "DOMAINS",
    "ENGINE_VERSION",
    "HELDOUT_DOMAINS",
    "TRAIN_DOMAINS",
    "EngineError",
    "generate_challenge",
    "verify_challenge",
]
