"""Uploaded articles, kept under `web.upload_dir` by content, within the configured bounds."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.config import WebSettings
from assistant.errors import InputError

_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True)
class Upload:
    """An uploaded file as kept under `web.upload_dir`, and the name the user gave it."""

    path: Path
    name: str


def keep_uploads(files: Sequence[str | Path], web: WebSettings) -> list[Upload]:
    """Copy uploaded files (Gradio's temporary paths) into `web.upload_dir` as
    `<stem>~<8 hex of sha256(content)><suffix>`, within the configured bounds (InputError otherwise).

    The content hash is the article's identity, and deliberately so: an upload has no lasting
    place, and two people uploading `article.txt` must not overwrite each other. Uploading the same
    file again changes nothing; an edited file is a new article (to replace articles in place,
    ingest them from a folder, where the path is the identity). Keeping the copies lets the index
    be rebuilt later, e.g. after changing the embedder.
    """
    if len(files) > web.max_upload_files:
        raise InputError(
            f"{len(files)} files at once is more than the limit of {web.max_upload_files} "
            "(ASSISTANT_WEB__MAX_UPLOAD_FILES): upload them in parts."
        )
    incoming = [(Path(raw), _size(Path(raw), web)) for raw in files]
    _check_room(web, sum(size for _, size in incoming))
    return [_keep(source, web.upload_dir) for source, _ in incoming]


def _size(source: Path, web: WebSettings) -> int:
    try:
        size = source.stat().st_size
    except OSError:
        raise InputError(f"The upload {source.name} is no longer on the server: upload it again.") from None
    if size > web.max_upload_mb * 1024 * 1024:
        raise InputError(
            f"{source.name} is larger than {web.max_upload_mb:g} MB (ASSISTANT_WEB__MAX_UPLOAD_MB)."
        )
    return size


def _check_room(web: WebSettings, incoming: int) -> None:
    folder = web.upload_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        used = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    except OSError as err:
        raise InputError(f"Cannot keep uploads in {folder}: {err.strerror}.") from None
    if used + incoming > web.max_uploads_total_mb * 1024 * 1024:
        raise InputError(
            f"The upload folder is full ({used / 1e6:.0f} MB kept, {web.max_uploads_total_mb:g} MB allowed; "
            "ASSISTANT_WEB__MAX_UPLOADS_TOTAL_MB): ask the operator to make room."
        )


def _keep(source: Path, folder: Path) -> Upload:
    digest = hashlib.sha256()
    with source.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    stem = _UNSAFE_NAME.sub("_", source.stem)[:80].strip("._") or "upload"
    target = folder / f"{stem}~{digest.hexdigest()[:8]}{source.suffix.lower()}"
    if not target.exists():
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            shutil.copyfile(source, partial)
            os.replace(partial, target)
        except OSError as err:
            partial.unlink(missing_ok=True)
            raise InputError(f"Cannot keep the upload {source.name} in {folder}: {err.strerror}.") from None
    return Upload(target.resolve(), source.name)
