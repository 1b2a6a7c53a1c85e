"""Publishing hazards, each planted in a source folder and staged through upload.py's dry run.

Every hazard here once passed every check (issue 11): a linked folder holding a private key, a
`.env` with a token, a suffix-less key file, a token in parquet metadata, in PNG text chunks or in a
tokenizer vocabulary, a linked plot pointing outside the tree, a file too large to copy. Each must
now be refused with a message naming the file. Nothing here reaches the Hub: the dry run stops
before any push, and the adapter hazards use a fake adapter (the checks that need PEFT are not run).
"""

from __future__ import annotations

import json
import struct
import tracemalloc
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from publish_fixtures import copy_results, write_dataset_folder

from crosstrace.hub_folder import MANIFEST_NAME, sha256_file
from crosstrace.publish.checks import check_files, check_local_paths, check_secrets
from crosstrace.publish.release import UploadArguments, main
from crosstrace.publish.repos import ReleaseRepos
from crosstrace.publish.scan import matches
from crosstrace.publish.stage import StagedRepo, stage_adapter
from crosstrace.sanitize import find_local_paths, find_secrets, local_path_matches, secret_matches

REPOS = ReleaseRepos("test-org")
FAKE_HF_TOKEN = "hf_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3h"  # the format of a token, not a token
PRIVATE_KEY = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


# --- planting ----------------------------------------------------------------------------------


@pytest.fixture()
def built(tmp_path) -> Path:
    """A built dataset folder at tmp/build/crosstrace, and a folder outside it at tmp/outside."""
    write_dataset_folder(tmp_path / "build" / "crosstrace")
    (tmp_path / "outside").mkdir()
    return tmp_path / "build" / "crosstrace"


def _dry_run(target: str, tmp_path: Path, **options) -> int:
    options.setdefault("datasets_dir", str(tmp_path / "build"))
    options.setdefault("datasets", "crosstrace")
    options.setdefault("results_dir", str(tmp_path / "results"))
    return main(target, UploadArguments(hub_org="test-org", stage_dir=str(tmp_path / "stage"), **options))


def _problem_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("- ")]


def _assert_refused(capsys, rc: int, name: str, *words: str) -> str:
    """Exit 1 (nothing pushed) and one problem line naming `name` with every word in `words`."""
    output = capsys.readouterr().out
    assert rc == 1, output
    naming = [line for line in _problem_lines(output) if name in line and all(w in line for w in words)]
    assert naming, f"no problem names {name!r} with {words}:\n{output}"
    return naming[0]


def _staged(tmp_path: Path, relative: str) -> list[Path]:
    stage = tmp_path / "stage"
    return [p for p in stage.rglob("*") if p.as_posix().endswith(relative)] if stage.exists() else []


def _png(*chunks: tuple[bytes, bytes], after_end: bytes = b"") -> bytes:
    """A valid 1x1 grey PNG with `chunks` (type, data) between the header and the pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    extra = b"".join(chunk(kind, data) for kind, data in chunks)
    return b"\x89PNG\r\n\x1a\n" + header + extra + pixels + chunk(b"IEND", b"") + after_end


# --- dataset folders: links, files that are not a dataset's, sizes --------------------------------


def test_a_linked_folder_holding_a_private_key_is_refused_naming_the_link(built, tmp_path, capsys):
    ssh = tmp_path / "outside" / ".ssh"
    ssh.mkdir()
    (ssh / "id_rsa").write_text(PRIVATE_KEY)
    (built / "keys").symlink_to(ssh, target_is_directory=True)
    line = _assert_refused(capsys, _dry_run("datasets", tmp_path), "keys", "symbolic link")
    assert "outside" in line
    assert not _staged(tmp_path, "id_rsa")


# relative path -> content: kinds a dataset repository never publishes, whatever they hold
NOT_PUBLISHED = {
    ".env": f"HF_TOKEN={FAKE_HF_TOKEN}\n",
    "deploy_key": PRIVATE_KEY,
    "id_rsa": PRIVATE_KEY,
    "all/.secrets.json": json.dumps({"token": FAKE_HF_TOKEN}),
    "notes.txt": "written by hand\n",
}


@pytest.mark.parametrize(("relative", "content"), list(NOT_PUBLISHED.items()), ids=list(NOT_PUBLISHED))
def test_a_file_a_dataset_does_not_publish_is_refused_naming_it(built, tmp_path, capsys, relative, content):
    (built / relative).write_text(content)
    _assert_refused(capsys, _dry_run("datasets", tmp_path), relative, "not a file")
    assert not _staged(tmp_path, Path(relative).name)


def test_a_token_in_parquet_schema_metadata_is_found(built, tmp_path, capsys):
    data = built / "all" / "train.parquet"
    table = pq.read_table(data)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"notes": f"by {FAKE_HF_TOKEN}".encode()})
    pq.write_table(table, data)
    manifest = json.loads((built / MANIFEST_NAME).read_text())
    manifest["files"]["all/train.parquet"] = sha256_file(data)  # the checksums stay right: only the token is wrong
    (built / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    _assert_refused(capsys, _dry_run("datasets", tmp_path), "all/train.parquet", "notes", "Hugging Face token")


def test_a_file_above_the_size_limit_is_refused_before_it_is_copied(built, tmp_path, capsys):
    huge = built / "all" / "huge.parquet"
    with huge.open("wb") as handle:  # sparse: 6 GB on paper, nothing on disk
        handle.truncate(6 * 1024**3)
    _assert_refused(capsys, _dry_run("datasets", tmp_path), "all/huge.parquet", "6.0 GB", "2.0 GB")
    assert not _staged(tmp_path, "huge.parquet")


def test_the_size_limit_is_an_option(built, tmp_path, capsys):
    with (built / "all" / "big.parquet").open("wb") as handle:
        handle.truncate(3 * 1024**2)
    rc = _dry_run("datasets", tmp_path, max_file_size="1MB")
    _assert_refused(capsys, rc, "all/big.parquet", "3.0 MB", "1.0 MB", "--max-file-size")
    assert _dry_run("datasets", tmp_path, max_file_size="lots") == 2
    assert "--max-file-size: 'lots' is not a size" in capsys.readouterr().err


# --- the results dataset: plots ----------------------------------------------------------------


@pytest.fixture()
def results(tmp_path) -> Path:
    copy_results(tmp_path / "results")
    (tmp_path / "outside").mkdir(exist_ok=True)
    return tmp_path / "results" / "fixture-qwen25-7b-baseline"


def test_a_linked_plot_pointing_outside_is_refused_naming_the_link(results, tmp_path, capsys):
    (tmp_path / "outside" / "elsewhere.png").write_bytes(_png((b"tEXt", b"Comment\x00from elsewhere")))
    (results / "learning_curve.png").symlink_to(tmp_path / "outside" / "elsewhere.png")
    _assert_refused(capsys, _dry_run("results", tmp_path), "learning_curve.png", "symbolic link")
    assert not _staged(tmp_path, "learning_curve.png")


@pytest.mark.parametrize(
    "chunk",
    [
        (b"tEXt", b"Comment\x00pushed with " + FAKE_HF_TOKEN.encode()),
        (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"pushed with " + FAKE_HF_TOKEN.encode())),
        (b"iTXt", b"Comment\x00\x01\x00en\x00\x00" + zlib.compress(b"pushed with " + FAKE_HF_TOKEN.encode())),
    ],
    ids=["tEXt", "zTXt", "iTXt-compressed"],
)
def test_a_token_in_a_png_text_chunk_is_found(results, tmp_path, capsys, chunk):
    (results / "learning_curve.png").write_bytes(_png(chunk))
    kind = chunk[0].decode()
    _assert_refused(capsys, _dry_run("results", tmp_path), "learning_curve.png", kind, "Hugging Face token")


def test_a_token_after_the_end_of_a_png_is_found(results, tmp_path, capsys):
    (results / "learning_curve.png").write_bytes(_png(after_end=FAKE_HF_TOKEN.encode()))
    _assert_refused(capsys, _dry_run("results", tmp_path), "learning_curve.png", "Hugging Face token")


# --- the adapter: tokenizer files --------------------------------------------------------------


@pytest.fixture()
def fake_adapter(tmp_path) -> Path:
    """An adapter folder as far as staging is concerned (the PEFT check is not run on it)."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "test-org/base", "r": 4}))
    header = json.dumps({"__metadata__": {"format": "pt"}}).encode()
    (folder / "adapter_model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    (tmp_path / "outside").mkdir(exist_ok=True)
    return folder


def test_a_token_in_a_tokenizer_vocabulary_is_found(fake_adapter, tmp_path):
    (fake_adapter / "vocab.json").write_text(json.dumps({"hello": 0, FAKE_HF_TOKEN: 1, "/home": 2}))
    (fake_adapter / "merges.txt").write_text(f"#version: 0.2\nh e\n{FAKE_HF_TOKEN} x\n")
    staged = stage_adapter(fake_adapter, REPOS, tmp_path / "stage", tmp_path / "no-results")
    assert not staged.problems
    result = check_secrets(staged)
    assert not result.passed
    assert any(p.startswith("vocab.json line 1: Hugging Face token") for p in result.problems), result.problems
    assert any(p.startswith("merges.txt line 3: Hugging Face token") for p in result.problems), result.problems
    assert check_local_paths(staged).passed  # the token "/home" is text, not a path


def test_a_linked_tokenizer_file_pointing_outside_is_refused_and_a_dotenv_is_left_out(fake_adapter, tmp_path):
    (tmp_path / "outside" / "tokenizer.json").write_text("{}")
    (fake_adapter / "tokenizer.json").symlink_to(tmp_path / "outside" / "tokenizer.json")
    (fake_adapter / ".env").write_text(f"HF_TOKEN={FAKE_HF_TOKEN}\n")
    staged = stage_adapter(fake_adapter, REPOS, tmp_path / "stage", tmp_path / "no-results")
    assert any(p.startswith(str(fake_adapter / "tokenizer.json")) and "symbolic link" in p for p in staged.problems)
    assert not (staged.folder / "tokenizer.json").exists()
    (fake_adapter / "tokenizer.json").unlink()
    staged = stage_adapter(fake_adapter, REPOS, tmp_path / "stage", tmp_path / "no-results")
    assert not staged.problems and not (staged.folder / ".env").exists()
    assert any(note.startswith("left out .env") for note in staged.notes)


# --- scanning: in pieces, in bounded memory ------------------------------------------------------


def test_matches_split_anywhere_are_found_once_at_their_line():
    text = (
        f"first\n{FAKE_HF_TOKEN} and /home/alice/notes.txt\n"
        + "x" * 50
        + "\napi_key = 'x7Gq2Lm9Rt4Vb8Nc1Zp6Hs3K'\n-----BEGIN "
        + "RSA PRIVATE KEY-----\n"
    )
    for find, matcher in ((find_secrets, secret_matches), (find_local_paths, local_path_matches)):
        whole = sorted((f.kind, f.where) for f in find(text))
        assert whole
        for size in range(1, len(text) + 1):
            pieces = [text[i : i + size] for i in range(0, len(text), size)]
            found = sorted((kind, f"line {line}") for kind, line, _ in matches(pieces, matcher, overlap=64))
            assert found == whole, f"pieces of {size} characters"


def test_a_large_text_file_is_scanned_in_bounded_memory_and_tokens_across_chunks_are_found(tmp_path):
    """64 MiB of text (sparse: mostly NUL characters) with tokens placed across the scanner's 1 MiB
    chunk boundaries; before, the file was read whole (1.16 GB of memory for 512 MB)."""
    folder = tmp_path / "stage"
    folder.mkdir()
    text = folder / "decontamination.json"
    mib = 1024**2
    offsets = [mib - 10, 2 * mib - len(FAKE_HF_TOKEN) + 1, 40 * mib - 3]
    with text.open("wb") as handle:
        handle.truncate(64 * mib)
        for offset in offsets:
            handle.seek(offset - 1)
            handle.write(b"\n" + FAKE_HF_TOKEN.encode())
    tracemalloc.start()
    try:
        result = check_secrets(StagedRepo("dataset", "test-org/x", "dataset", folder))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    found = [p for p in result.problems if "Hugging Face token" in p]
    assert [p.split(":")[0] for p in found] == [
        "decontamination.json line 2",
        "decontamination.json line 3",
        "decontamination.json line 4",
    ]
    assert peak < 16 * mib, f"peak {peak / mib:.1f} MiB for a 64 MiB file"


def test_a_link_planted_in_the_stage_is_refused_by_the_files_check(tmp_path):
    folder = tmp_path / "stage"
    folder.mkdir()
    (tmp_path / "id_rsa").write_text(PRIVATE_KEY)
    (folder / "plot.png").symlink_to(tmp_path / "id_rsa")
    result = check_files(StagedRepo("results", "test-org/x", "dataset", folder))
    assert not result.passed and any(p.startswith("plot.png: a symbolic link") for p in result.problems)
    assert check_secrets(StagedRepo("results", "test-org/x", "dataset", folder)).passed  # a link is not read
