"""The n-gram overlap report: a copied evaluation record is flagged by id; text every record shares
(system prompt, template wording, the engine's document titles) is not, and cannot join content into
a match. The sub-command writes each folder's report and renders its card's section from it."""

from __future__ import annotations

import json
import random

import pytest
from publish_fixtures import write_dataset_folder

from crosstrace.builders.__main__ import main as builders_main
from crosstrace.cards import decontamination as card
from crosstrace.decontaminate import TextSet, report
from crosstrace.engine.document import caption_templates
from crosstrace.engine.domains import DOMAIN_SPECS

SYSTEM = "you are a careful assistant who reads every line of the question before giving the final answer now"
# A sentence template whose slots vary; its fixed words run straight into each record's content.
TEMPLATE = "according to the measurements reported for sample {slot} the observed value of the main quantity was"


def _content(rng: random.Random, words: int) -> str:
    return " ".join(f"w{rng.randrange(10**9)}" for _ in range(words))


def _set(name: str, records: dict[str, str], rng: random.Random) -> TextSet:
    """Each record: the shared system prompt as its own field, then the template running into its content."""
    fields = [[SYSTEM, f"{TEMPLATE.format(slot=rng.randrange(100))} {text}"] for text in records.values()]
    return TextSet(name, "messages", list(records), fields)


def _pair(training: dict[str, str], evaluation: dict[str, str]) -> dict:
    rng = random.Random(0)
    result = report([_set("train", training, rng)], [_set("test", evaluation, rng)], {})
    assert result["training_sets"]["train"]["records"] == len(training)
    (pair,) = result["pairs"]
    return pair | {"table": card.markdown_table(result)}


def _filler(prefix: str, count: int) -> dict[str, str]:
    rng = random.Random(prefix)
    return {f"{prefix}{i}": _content(rng, 30) for i in range(count)}


def test_a_copied_record_is_flagged_by_id_with_the_training_row_it_matches():
    leaked = _content(random.Random(1), 30)
    pair = _pair({**_filler("t", 20), "t-leak": leaked}, {"e-leak": leaked, **_filler("e", 7)})
    assert pair["flagged_13gram_ids"] == {"e-leak": ["t-leak"]} and pair["flagged_8gram"] == 1
    assert "| `train` | `test` | 8 | 1 (12.5%) | 1 (12.5%) |" in pair["table"]


def test_records_sharing_only_the_system_prompt_and_template_wording_are_not_flagged():
    # Three records (too few to be format) open with the same five words. Counted across the
    # template, its last eight words plus these five made a 13-gram shared by train and test.
    opening = "the quantity rose sharply then"
    training = {**_filler("t", 20), "t-a": f"{opening} x1 x2", "t-b": f"{opening} x3 x4"}
    evaluation = {**_filler("e", 7), "e-a": f"{opening} y1 y2"}
    pair = _pair(training, evaluation)
    assert pair["flagged_13gram"] == 0 and pair["flagged_8gram"] == 0


def test_template_followed_by_copied_content_is_flagged_only_when_the_content_reaches_13_words():
    copied = _content(random.Random(2), 13)
    pair = _pair(
        {**_filler("t", 20), "t-13": copied, "t-12": " ".join(copied.split()[:12]) + " x1"},
        {"e-13": copied, "e-12": " ".join(copied.split()[:12]) + " y1", **_filler("e", 6)},
    )
    assert list(pair["flagged_13gram_ids"]) == ["e-13"]
    assert pair["flagged_13gram_ids"]["e-13"] == ["t-13"]


ENGINE_LINES = {
    "title": DOMAIN_SPECS["chemistry"].title_templates[0].replace("{n}", "seven"),
    "caption": caption_templates(DOMAIN_SPECS["economics"])[0]
    .replace("{id}", "1")
    .replace("{Labels}", "Average real output growth and export share of output"),
}
ENGINE_LINES["caption opening its paragraph"] = "[P12] " + ENGINE_LINES["caption"]


@pytest.mark.parametrize("kind", ENGINE_LINES)
def test_an_engine_title_or_caption_shared_by_two_different_documents_is_format_not_overlap(kind):
    # The engine's titles and table captions are templates whose slots take few values (the entity
    # count, two attribute labels): different documents of one domain repeat them word for word, yet
    # in too few records and distinct lines to count as format.
    title = ENGINE_LINES[kind]
    assert len(title.split()) >= 13

    def documents(name: str, first_lines: list[str]) -> TextSet:
        texts = _filler(name, 40)
        fields = [[SYSTEM, f"{line}\n{text}"] for line, text in zip(first_lines, texts.values(), strict=False)]
        return TextSet(name, "messages", list(texts)[: len(fields)], fields)

    training = documents("t", [title] * 3 + ["t"] * 37)
    result = report([training], [documents("e", [title, "e"])], {})
    assert result["pairs"][0]["flagged_13gram"] == 0 and result["pairs"][0]["flagged_8gram"] == 0
    assert result["training_sets"]["t"]["format_lines_blanked"] == 3
    # Only a whole line is a title: the same words inside a longer line are still compared.
    result = report([documents("t", [f"in {title}"])], [documents("e", [f"as {title}"])], {})
    assert result["pairs"][0]["flagged_13gram_ids"] == {"e0": ["t0"]}


def test_the_sub_command_writes_each_folders_report_and_renders_its_card_from_it(tmp_path, capsys):
    folder = write_dataset_folder(tmp_path / "crosstrace")
    assert card.card_problems(folder) == [] and card.read_report(folder) is None
    assert card.COMMAND in (folder / "README.md").read_text()  # no figures yet: how to make them
    whole = tmp_path / "decontamination.json"
    assert builders_main(["decontaminate", "--folders", str(folder), "--out", str(whole)]) == 0
    written = card.read_report(folder)
    assert written["dataset"] == "crosstrace" and written["data_digest"] == card.data_digest(folder)
    assert json.loads(whole.read_text())["datasets"] == {"crosstrace": written["data_digest"]}
    pair = written["pairs"][0]
    assert (pair["training"], pair["evaluation"]) == ("crosstrace/all/train", "crosstrace/all/test")
    text = (folder / "README.md").read_text()
    assert "| `crosstrace/all/train` | `crosstrace/all/test` | 1 | 0 (0.0%) | 1 (100.0%) |" in text
    assert card.COMMAND in text and card.card_problems(folder) == []
    assert "| `crosstrace/all/train` |" in capsys.readouterr().out

    written["pairs"][0]["flagged_13gram"] = 1  # a report edited after the card was rendered
    (folder / card.REPORT_NAME).write_text(json.dumps(written))
    assert [
        "decontamination section is not the render of decontamination.json" in p for p in card.card_problems(folder)
    ] == [True]
    written["data_digest"] = "0" * 64  # a report of other data, copied in
    card.write(folder, written)
    assert ["made from other data files" in p for p in card.card_problems(folder)] == [True]
    write_dataset_folder(folder)  # a rebuild replaces the folder: no report, no figures
    assert card.read_report(folder) is None and card.card_problems(folder) == []
