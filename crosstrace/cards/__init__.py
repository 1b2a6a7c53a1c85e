"""Card templates and the pieces every card shares (citations, licensing of the sources).

Templates are Jinja files beside this module, rendered with huggingface_hub's card classes
(`DatasetCard.from_template`, `ModelCard.from_template`). Shared pieces are rendered first and
handed to every template as variables, so the three dataset cards and the model card cite and
attribute in the same words.

Owns the card texts; imports nothing of `crosstrace` (only huggingface_hub's card classes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from crosstrace.cards.decontamination import block as decontamination_block

CARDS_DIR = Path(__file__).resolve().parent


def shared_pieces() -> dict[str, str]:
    """Blocks every card includes: `{{ citations }}`, `{{ sources_attribution }}` and
    `{{ release_family }}` (the five repositories of the release). `upload.py` refuses a card
    that lacks one of them or carries an edited copy."""
    return {
        "citations": (CARDS_DIR / "citations.md").read_text(encoding="utf-8").strip(),
        "sources_attribution": (CARDS_DIR / "sources_attribution.md").read_text(encoding="utf-8").strip(),
        "release_family": (CARDS_DIR / "release_family.md").read_text(encoding="utf-8").strip(),
    }


def render_dataset_card(template_name: str, card_data: DatasetCardData, **variables: Any) -> DatasetCard:
    """Render `crosstrace/cards/<template_name>` into a dataset card, shared pieces included.

    `{{ decontamination }}` is the section a new build carries: no report yet, and how to make one
    (`python -m crosstrace.builders decontaminate` fills it in later: crosstrace/cards/decontamination.py)."""
    template_path = CARDS_DIR / template_name
    variables.setdefault("decontamination", decontamination_block(None))
    card = DatasetCard.from_template(card_data, template_path=str(template_path), **shared_pieces(), **variables)
    text = str(card)
    # A card is never published with placeholder text.
    for stub in ("More Information Needed", "More information needed", "[More Information", "TODO"):
        if stub in text:
            raise ValueError(f"card rendered from {template_name} contains stub text {stub!r}")
    return card
