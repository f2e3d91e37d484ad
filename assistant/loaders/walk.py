"""Walking the inputs: files and folders in a deterministic order, each file once, with a readable id.

What cannot be entered or followed (permission denied, link loops, links to folders) is reported,
never fatal.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.errors import InputError
from assistant.loaders.base import SIDECAR_NAME, FileTask, skip
from assistant.types import SkippedFile

logger = logging.getLogger(__name__)


def check_path(path: Path) -> None:
    """InputError unless `path` exists (a broken or looping link counts: it is reported when loaded)."""
    try:
        if path.exists() or path.is_symlink():
            return
    except OSError as exc:  # e.g. ENAMETOOLONG: exists() only swallows "not found"
        raise InputError(f"Cannot use the path {_short(path)}: {exc.strerror}") from None
    raise InputError(f"No such file or folder: {path}")


def _short(path: Path | str, limit: int = 120) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def collect(paths: Sequence[Path], skipped: list[SkippedFile], files: list[str]) -> list[FileTask]:
    """Walk the inputs in a deterministic order, dedupe, and give each file a readable stable id."""
    tasks: list[FileTask] = []
    seen: set[Path] = set()
    for raw in paths:
        root = Path(raw)
        if root.is_dir():
            candidates = list(_walk(root, skipped))
        elif root.name == SIDECAR_NAME:
            skip(skipped, _absolute(root), "metadata sidecar, read together with its folder")
            continue
        else:
            # An explicitly named file is loaded even if its name starts with "_" or ".".
            candidates = [root]
            root = root.parent
        for path in candidates:
            try:
                resolved = path.resolve(strict=True)
            except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop before Python 3.13
                skip(skipped, _absolute(path), _unresolvable(path, exc))
                files.append(str(_absolute(path)))
                continue
            if resolved in seen:
                continue
            seen.add(resolved)
            relative = path.relative_to(root)
            tasks.append(FileTask(_absolute(path), resolved, root, relative.with_suffix("").as_posix()))
            files.append(str(resolved))
    _disambiguate(tasks)
    return tasks


def _unresolvable(path: Path, exc: BaseException) -> str:
    error = getattr(exc, "errno", None)
    if isinstance(exc, RuntimeError) or error == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself), not followed"
    if error == errno.ENAMETOOLONG:
        return "path too long for this system"
    if path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken symbolic link: its target {target!r} does not exist"
    strerror = getattr(exc, "strerror", None) or str(exc)
    return f"cannot be read: {strerror}"


def _walk(root: Path, skipped: list[SkippedFile]) -> Iterator[Path]:
    """Files under `root` in sorted order, depth first (as os.walk top-down), skipping hidden names.

    Unlike os.walk it reports what it cannot enter (permission denied, a path too long for the
    system) and links to folders, which it does not follow (a link to a parent would never end).
    """
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            skip(skipped, _absolute(folder), f"folder cannot be read: {exc.strerror or exc}")
            continue
        subfolders: list[Path] = []
        for entry in listing:
            if _is_hidden(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(path)
                    continue
                if entry.is_symlink() and entry.is_dir():
                    skip(skipped, _absolute(path), "link to a folder, not followed")
                    continue
            except OSError:
                pass  # a link loop or a broken link: reported when the file is opened
            yield path
        folders.extend(reversed(subfolders))


def _disambiguate(tasks: list[FileTask]) -> None:
    """Ids are the relative path without suffix; files of one folder that differ only in their suffix
    (`y.txt`, `y.md`) keep it. Clashes between inputs are ArticleIds' to settle, the same way whether
    the inputs come in one run or in several."""
    groups: dict[tuple[Path, str], list[FileTask]] = {}
    for task in tasks:
        groups.setdefault((_absolute(task.root), task.base_id), []).append(task)
    for (root, _), group in groups.items():
        if len(group) > 1:
            for task in group:
                task.base_id = task.path.relative_to(root).as_posix()
    for task in tasks:
        logger.debug("file %s -> id %s", task.resolved, task.base_id)
