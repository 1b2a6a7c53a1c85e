"""The one reader of built dataset folders: files checked against the manifest, one fingerprint rule."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crosstrace.errors import DataError
from crosstrace.evaluation.tasks.built_split import load_built_split
from crosstrace.hub_folder import DatasetFolder, dataset_fingerprint, read_built_split
from crosstrace.training.mixture import load_source, parse_sources

CARD = "---\nlicense: cc-by-4.0\n---\n# t\n"


def _build(out, texts):
    folder = DatasetFolder(pa.schema([("text", pa.string())]))
    folder.add_split("all", "train", [{"text": t} for t in texts])
    folder.write(out, folder.manifest("t"), CARD)
    return out


def test_training_and_evaluation_read_one_split_with_one_fingerprint(tmp_path):
    built = _build(tmp_path / "built", ["a", "b"])
    split = read_built_split(built, "all", "train")
    assert split.rows() == [{"text": "a"}, {"text": "b"}] and split.fingerprint.startswith("built-all-train-")
    source = parse_sources([{"label": "b", "path": str(built), "name": "all", "split": "train"}])[0]
    rows, info = load_built_split(str(built), "all", "train")
    assert rows == split.rows() and info["fingerprint"] == split.fingerprint == dataset_fingerprint(
        load_source(source)
    )
    assert info["manifest_sha256"] == split.manifest_sha256 and info["files"][0]["file"] == "all/train.parquet"
    # Same rows, another folder: the same digest (the data decides it, not where it lies).
    again = read_built_split(_build(tmp_path / "copy" / "built", ["a", "b"]), "all", "train")
    assert again.fingerprint == split.fingerprint
    assert read_built_split(_build(built, ["a", "c"]), "all", "train").fingerprint != split.fingerprint


def test_a_data_file_changed_after_the_build_is_refused(tmp_path):
    built = _build(tmp_path / "built", ["a", "b"])
    pq.write_table(pa.table({"text": ["edited"]}), built / "all" / "train.parquet")
    with pytest.raises(DataError, match="changed after it was built") as caught:
        read_built_split(built, "all", "train")
    assert caught.value.field == "files.all/train.parquet" and caught.value.path.endswith("manifest.json")


def test_local_json_lines_get_a_fingerprint_of_their_bytes(tmp_path):
    lines = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
    first, second = tmp_path / "a" / "train.jsonl", tmp_path / "b" / "train.jsonl"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(lines, encoding="utf-8")

    def fingerprint(path, answer="a"):
        (source,) = parse_sources([{"label": "x", "path": "json", "data_files": str(path)}])
        dataset = load_source(source)
        assert dataset[0]["messages"][1]["content"] == answer
        return dataset_fingerprint(dataset)

    assert fingerprint(first) == fingerprint(second) and fingerprint(first).startswith("jsonl-")
    second.write_text(lines.replace('"a"', '"b"'), encoding="utf-8")
    assert fingerprint(second, answer="b") != fingerprint(first)
