"""The n-gram overlap report: a copied evaluation record is flagged by id; text every record shares is not."""

from __future__ import annotations

from crosstrace.decontaminate import TextSet, markdown_table, report

SYSTEM = "you are a careful assistant who reads every line of the question before giving the final answer now"


def _set(name: str, texts: dict[str, str]) -> TextSet:
    return TextSet(name, "messages", list(texts), [f"{SYSTEM}\n{text}" for text in texts.values()])


def test_copied_record_is_flagged_and_the_shared_system_prompt_is_not():
    filler = {f"t{i}": " ".join(f"word{i}x{j}" for j in range(30)) for i in range(20)}
    leaked = "the measured rate of the made up reaction rose from four to nine units per hour in the second trial"
    training = _set("train", {**filler, "t-leak": leaked})
    evaluation = _set(
        "test", {"e1": leaked, **{f"e{i}": " ".join(f"other{i}x{j}" for j in range(30)) for i in range(2, 9)}}
    )
    result = report([training], [evaluation], {}, common_share=0.01, common_min=5)
    (pair,) = result["pairs"]
    assert pair["flagged_13gram_ids"] == {"e1": ["t-leak"]} and pair["flagged_8gram"] == 1
    assert "| `train` | `test` | 8 | 1 (12.5%) | 1 (12.5%) |" in markdown_table(result)
