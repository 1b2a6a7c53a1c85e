"""The domain libraries. Each module defines one `Domain` (see `crosstrace/engine/spec.py`).

Two domains are held out of training (`HELDOUT_DOMAINS`): the `test_heldout_domains` split of
the dacr-traces dataset is made only from them, to measure transfer to unseen vocabularies.

Domain modules hold data only and import nothing but `crosstrace.engine.spec`.
"""

from __future__ import annotations

from crosstrace.engine.domains import (
    astronomy,
    biology,
    chemistry,
    climate,
    cs_ml,
    ecology,
    economics,
    materials,
    medicine,
    physics,
)
from crosstrace.engine.spec import Domain

_MODULES = (physics, chemistry, biology, medicine, materials, climate, economics, cs_ml, astronomy, ecology)

DOMAIN_SPECS: dict[str, Domain] = {module.DOMAIN.name: module.DOMAIN for module in _MODULES}
DOMAINS: tuple[str, ...] = tuple(DOMAIN_SPECS)
HELDOUT_DOMAINS: tuple[str, ...] = ("astronomy", "ecology")
TRAIN_DOMAINS: tuple[str, ...] = tuple(d for d in DOMAINS if d not in HELDOUT_DOMAINS)
