"""Reading the folders a release is staged from: no link followed, no file opened before it is sized.

Staging never follows a symbolic link. A link in a source folder (to a file or a folder, pointing
inside the tree or out of it) is refused, naming the link and where it points: a link out of the
tree could publish anything (a key folder, another project's files), and a built folder, a training
output and an evaluation run never contain one. A file is sized with `lstat` before it is opened, so
one above its limit is refused without a byte read or copied; the copy then opens exactly the file it
sized (`O_NOFOLLOW`, and its size is checked again on the open file).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from crosstrace.errors import DataError
from crosstrace.publish import allowed_files
from crosstrace.publish.limits import Limits


class SourceRefused(DataError):
    """Files of a source folder that staging will not read; each problem names its file and what to do."""

    def __init__(self, folder: str | Path, problems: list[str]):
        self.problems = problems
        super().__init__(folder, None, None, "refused: " + "; ".join(problems))


def _link_refusal(path: Path, root: Path) -> str:
    target, root, resolved = os.readlink(path), root.resolve(), path.resolve()
    if not resolved.exists():
        where = "which does not exist"
    elif resolved == root or root in resolved.parents:
        where = "inside the folder"
    else:
        where = f"outside {root}"
    return (
        f"{path}: a symbolic link to {target} ({where}): staging never follows links; "
        "if the file belongs in the release, put the file itself there (cp -L)"
    )


def refusal(path: Path, root: Path, size_refusal) -> str | None:
    """Why `path` (inside `root`) cannot be read: a link, not a regular file, or too large
    (`size_refusal(size)`, one of `Limits.file_refusal` / `read_refusal`); None when it can."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return _link_refusal(path, root)
    if not stat.S_ISREG(info.st_mode):
        return f"{path}: not a regular file (a folder, pipe or device where a file belongs)"
    too_large = size_refusal(info.st_size)
    return f"{path}: {too_large}: nothing was read or copied" if too_large else None


def open_checked(path: Path, root: Path, size_refusal) -> BinaryIO:
    """The file at `path` opened for reading, refused (SourceRefused) on the same grounds as `refusal`,
    checked on the open file itself so that nothing swapped in after a check is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:  # O_NOFOLLOW makes a link fail with ELOOP
        problem = _link_refusal(path, root) if error.errno == errno.ELOOP else f"{path}: cannot be opened: {error}"
        raise SourceRefused(root, [problem]) from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = f"{path}: not a regular file (a folder, pipe or device where a file belongs)"
    elif too_large := size_refusal(info.st_size):
        problem = f"{path}: {too_large}: nothing was read or copied"
    if problem:
        os.close(fd)
        raise SourceRefused(root, [problem])
    return os.fdopen(fd, "rb")


def copy_checked(path: Path, root: Path, target: Path, limits: Limits) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_checked(path, root, limits.file_refusal) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, 1024**2)


def read_text_checked(path: Path, root: Path, limits: Limits) -> str:
    with open_checked(path, root, limits.read_refusal) as source:
        return source.read().decode("utf-8")


@dataclass
class FolderPlan:
    """What staging a whole folder would copy, refuse and skip, decided before anything is copied."""

    root: Path
    files: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def count_files(folder: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(folder))


def plan_folder(root: Path, kind: str, limits: Limits) -> FolderPlan:
    """Every entry of `root`, judged: links and files `kind` does not publish are refused, tool
    leftovers skipped and counted, files above the size limit refused; nothing is opened."""
    root = root.resolve()
    plan = FolderPlan(root)
    for dirpath, dirnames, filenames in os.walk(root):  # followlinks=False: a linked folder is listed, not entered
        here = Path(dirpath)
        for name in sorted(dirnames):
            path = here / name
            relative = path.relative_to(root)
            why_skipped = allowed_files.skipped_reason(name)
            if path.is_symlink():
                plan.refused.append(_link_refusal(path, root))
            elif why_skipped:
                plan.skipped.append(f"{relative}/ ({count_files(path)} files): {why_skipped}")
            elif name.startswith("."):  # a hidden folder (.git, .ssh): refused whole, not file by file
                plan.refused.append(f"{path}/: {allowed_files.refusal(kind, relative)}; move it out of {root}")
            else:
                continue
            dirnames.remove(name)
        for name in sorted(filenames):
            path = here / name
            relative = path.relative_to(root)
            why_skipped = allowed_files.skipped_reason(name)
            if why_skipped and not path.is_symlink():
                plan.skipped.append(f"{relative}: {why_skipped}")
            elif path.is_symlink():
                plan.refused.append(_link_refusal(path, root))
            elif not_published := allowed_files.refusal(kind, relative):
                plan.refused.append(f"{path}: {not_published}; move it out of {root}")
            elif problem := refusal(path, root, limits.file_refusal):
                plan.refused.append(problem)
            else:
                plan.files.append(path)
    return plan
