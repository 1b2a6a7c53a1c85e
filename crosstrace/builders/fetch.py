"""Turn a builder's `--source` (a folder, an `hf://` location or an http(s) URL) into a local folder.

    resolve_source("../shared/data/crosstrace", names)                       # a folder: used as is
    resolve_source("hf://datasets/<org>/<repo>[@<revision>]/<subfolder>", names)
    resolve_source("https://example.org/crosstrace-release", names)          # <url>/<name> for each name

Remote files are downloaded once into a cache folder (`CROSSTRACE_CACHE`, default
`~/.cache/crosstrace/sources/<hash of the location>/`). Only the files a builder can read are
fetched; a name the remote does not have is skipped (the builder then says what it misses).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from crosstrace.errors import DataError

CACHE_ENV = "CROSSTRACE_CACHE"
HF_PREFIX = "hf://datasets/"


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "crosstrace") / "sources"


def _cache_folder(location: str) -> Path:
    return cache_root() / hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]


def _from_hub(location: str, names: Sequence[str]) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    parts = location[len(HF_PREFIX) :].strip("/").split("/")
    if len(parts) < 2:
        raise DataError(location, None, None, "expected hf://datasets/<org>/<repo>[@<revision>][/<subfolder>]")
    repo, _, revision = "/".join(parts[:2]).partition("@")
    subfolder = "/".join(parts[2:])
    patterns = [f"{subfolder}/{name}" if subfolder else name for name in names]
    try:
        snapshot = snapshot_download(
            repo,
            repo_type="dataset",
            revision=revision or None,
            allow_patterns=patterns,
            cache_dir=cache_root() / "hub",
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as error:
        raise DataError(
            location,
            None,
            None,
            f"could not download from the Hugging Face Hub ({type(error).__name__}: {str(error).splitlines()[0]})",
        ) from None
    return Path(snapshot) / subfolder


def _from_http(location: str, names: Sequence[str]) -> Path:
    folder = _cache_folder(location)
    folder.mkdir(parents=True, exist_ok=True)
    fetched = 0
    for name in names:
        target = folder / name
        if target.is_file():
            fetched += 1
            continue
        url = f"{location.rstrip('/')}/{name}"
        try:
            with urllib.request.urlopen(url, timeout=60) as response, (folder / f"{name}.download").open("wb") as out:
                shutil.copyfileobj(response, out)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                continue
            raise DataError(url, None, None, f"download failed: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise DataError(url, None, None, f"download failed: {error}") from None
        (folder / f"{name}.download").rename(target)
        fetched += 1
    if not fetched:
        raise DataError(location, None, None, f"none of {list(names)} could be downloaded from here")
    return folder


def resolve_source(location: str, names: Sequence[str]) -> Path:
    """A local folder holding (some of) `names`, downloading them first when `location` is remote."""
    if location.startswith(HF_PREFIX):
        return _from_hub(location, names)
    if location.startswith(("http://", "https://")):
        return _from_http(location, names)
    if "://" in location:
        raise DataError(
            location,
            None,
            None,
            "unsupported location: use a folder, hf://datasets/<org>/<repo>/..., or an http(s) URL",
        )
    folder = Path(location)
    if not folder.is_dir():
        raise DataError(
            folder, None, None, "not a folder (expected the CrossTrace release folder, an hf:// location or a URL)"
        )
    return folder
