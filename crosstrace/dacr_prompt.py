"""The DACR prompt: a challenge's document and questions, asking for JSON answers only.

    from crosstrace.dacr_prompt import render_dacr_prompt
    prompt = render_dacr_prompt(challenge)                                   # the project's template
    prompt = render_dacr_prompt(challenge, Path("../shared/data/dacr-bench/prompt_template.txt").read_text())

The default template is written for this project and has the structure of DACR-Bench's
(instructions, the document, the questions, the answers as one JSON object in the format
`{"q01": {"answer": "...", "citation": "...", "confidence": 0.95}}`). Unlike upstream's, it lets
the model reason before the JSON object, which must end the reply: the dacr-traces training
records answer exactly so, and training and evaluation use the same prompt. Upstream's exact
template (JSON only, no reasoning) can be passed at run time
(`evaluate.py --prompt-template <file>`) to reproduce its numbers; it is never copied here. Placeholders are replaced literally (not with `str.format`), because every
template contains the braces of the JSON example.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

DOCUMENT_PLACEHOLDER = "{document}"
QUESTIONS_PLACEHOLDER = "{questions}"
_PLACEHOLDERS = re.compile(re.escape(DOCUMENT_PLACEHOLDER) + "|" + re.escape(QUESTIONS_PLACEHOLDER))

DEFAULT_TEMPLATE = """Read the technical document below and answer every question after it. Base each answer on the document alone, and say where in the document you found it.

Give each answer a confidence between 0.0 and 1.0: 0.0 means you are guessing, 1.0 means you are certain.

Document:
{document}

Questions:
{questions}

You may work through the questions first. Your reply must end with a single JSON object holding all the answers, with nothing after it.
Use one key per question id; each value holds the answer, a short citation of where the answer is stated, and your confidence:

{
  "q01": {"answer": "...", "citation": "...", "confidence": 0.95},
  "q02": {"answer": "...", "citation": "...", "confidence": 0.8}
}"""

# The system message of the dacr-traces training records. Evaluate with the same one (or none
# in both), so the model sees at test time what it saw in training.
DACR_SYSTEM_PROMPT = "You are a careful reader of scientific and technical documents. You answer questions from the document you are given, cite the paragraphs you rely on, and show your reasoning before the final answers."


def format_questions(challenge: dict[str, Any]) -> str:
    """One line per question, `q01: <question text>`, in the challenge's order."""
    return "\n".join(f"{q['questionId']}: {q['text'].strip()}" for q in challenge["questions"])


def check_template(template: str) -> None:
    """A template must hold each placeholder exactly once."""
    for placeholder in (DOCUMENT_PLACEHOLDER, QUESTIONS_PLACEHOLDER):
        count = template.count(placeholder)
        if count != 1:
            raise ValueError(f"prompt template must contain {placeholder} exactly once, found {count}")


def render_dacr_prompt(challenge: dict[str, Any], template: str | None = None) -> str:
    """The user prompt for `challenge`: `template` (default: the project's) with document and questions."""
    template = DEFAULT_TEMPLATE if template is None else template
    check_template(template)
    values = {DOCUMENT_PLACEHOLDER: challenge["document"]["text"], QUESTIONS_PLACEHOLDER: format_questions(challenge)}
    # One pass over the template, so a document that happens to contain "{questions}" is not expanded.
    return _PLACEHOLDERS.sub(lambda match: values[match.group(0)], template)


def template_hash(template: str | None = None) -> str:
    """Short sha256 of the template in use, recorded as `prompt_hash` in results files."""
    text = DEFAULT_TEMPLATE if template is None else template
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
