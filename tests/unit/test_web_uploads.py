"""Web uploads (issue 12, item 12): the report names the uploaded files, two people uploading a file
of the same name do not overwrite each other, the server-path box is for a local user or configured
folders only, and uploads are bounded in number and size."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

gr = pytest.importorskip("gradio")

from assistant.config import Settings  # noqa: E402
from assistant.errors import InputError  # noqa: E402
from assistant.interfaces import web  # noqa: E402
from assistant.service import Assistant  # noqa: E402

FOLDER_LABEL = "…or a file or folder on this computer"
EZB = (
    "EZB erhöht den Leitzins\n\nDie Europäische Zentralbank hob den Leitzins am Donnerstag auf 4,5 Prozent.\n"
)
FED = "Fed senkt den Leitzins\n\nDie amerikanische Notenbank senkte den Leitzins am Mittwoch auf 5 Prozent.\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def handler(app: Any, name: str) -> Callable[..., Any]:
    return next(block_fn.fn for block_fn in app.fns.values() if block_fn.name == name)


def no_progress(*args: Any, **kwargs: Any) -> None:
    return None


def gradio_upload(tmp_path: Path, name: str, text: str | bytes) -> str:
    """A file where Gradio keeps an upload: its cache folder, one sub-folder per file."""
    folder = tmp_path / "gradio" / f"{abs(hash((name, text))):x}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def real(make_settings: Callable[..., Settings]) -> Callable[..., tuple[Any, Assistant]]:
    def build(**web_settings: Any) -> tuple[Any, Assistant]:
        settings = make_settings(web=web_settings) if web_settings else make_settings()
        assistant = Assistant.from_settings(settings)
        return web.build_app(assistant, settings), assistant

    return build


def test_the_report_names_uploaded_files_not_server_paths(tmp_path: Path, real: Any) -> None:
    app, _ = real()
    files = [
        gradio_upload(tmp_path, "ezb.txt", EZB),
        gradio_upload(tmp_path, "leer.txt", ""),
        gradio_upload(
            tmp_path, "feed.jsonl", '{"text": "Ein Artikel im Feed, der gut genug ist."}\n{"broken"\n'
        ),
    ]
    report = handler(app, "ingest_files")(files, "", progress=no_progress)
    assert report.startswith("Added 2, updated 0")
    assert "articles from **ezb.txt, leer.txt, feed.jsonl**;" in report, "it names what was uploaded"
    assert "- `leer.txt`: empty file" in report
    assert "- `feed.jsonl`: line 2: invalid JSON" in report
    assert str(tmp_path) not in report and "gradio" not in report and "~" not in report


def test_two_uploads_of_the_same_name_are_two_articles(tmp_path: Path, real: Any) -> None:
    app, assistant = real()
    ingest = handler(app, "ingest_files")
    assert ingest([gradio_upload(tmp_path, "artikel.txt", EZB)], "", progress=no_progress).startswith(
        "Added 1"
    )
    # Another user, another article.txt: added next to the first, not "updated 1" over it.
    assert ingest([gradio_upload(tmp_path, "artikel.txt", FED)], "", progress=no_progress).startswith(
        "Added 1"
    )
    records = assistant.index.articles()
    assert len(records) == 2 and all(aid.startswith("artikel~") for aid in records)
    texts = " ".join(c.text for c in assistant.index.iter_chunks())
    assert "Zentralbank" in texts and "Notenbank" in texts
    # The same file again changes nothing; the kept copies can rebuild the index later.
    again = ingest([gradio_upload(tmp_path, "artikel.txt", EZB)], "", progress=no_progress)
    assert again.startswith("Added 0, updated 0, unchanged 1")
    assert len(list(assistant.settings.web.upload_dir.iterdir())) == 2


def test_uploads_are_bounded(tmp_path: Path, real: Any) -> None:
    app, assistant = real(
        max_upload_files=2, max_upload_mb=0.001, max_uploads_total_mb=0.0008
    )  # bytes: 1048, 838
    ingest = handler(app, "ingest_files")
    many = [gradio_upload(tmp_path, f"a{n}.txt", EZB) for n in range(3)]
    assert "3 files at once is more than the limit of 2 (ASSISTANT_WEB__MAX_UPLOAD_FILES)" in ingest(
        many, "", progress=no_progress
    )
    big = gradio_upload(tmp_path, "big.txt", EZB * 20)
    assert "big.txt is larger than 0.001 MB (ASSISTANT_WEB__MAX_UPLOAD_MB)" in ingest(
        [big], "", progress=no_progress
    )
    assert ingest([many[0]], "", progress=no_progress).startswith("Added 1")
    full = ingest([gradio_upload(tmp_path, "b.txt", FED + " " * 700)], "", progress=no_progress)
    assert "The upload folder is full" in full and "ASSISTANT_WEB__MAX_UPLOADS_TOTAL_MB" in full
    assert len(assistant.index.articles()) == 1


def test_an_expired_upload_is_a_message(tmp_path: Path, real: Any) -> None:
    app, _ = real()
    gone = gradio_upload(tmp_path, "gone.txt", EZB)
    Path(gone).unlink()
    assert "The upload gone.txt is no longer on the server: upload it again." in handler(app, "ingest_files")(
        [gone], "", progress=no_progress
    )


def test_gradio_itself_bounds_and_clears_uploads(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(web={"max_upload_mb": 3})
    assistant = Assistant.from_settings(settings)
    app, _ = web.start(assistant, settings, port=free_port())
    try:
        assert app.max_file_size == 3 * 1024 * 1024
        assert app.delete_cache == (3600, 3600)
    finally:
        app.close()


# --- the server-path box


def _folder_box(app: Any) -> Any:
    return next(b for b in app.blocks.values() if getattr(b, "label", None) == FOLDER_LABEL)


@pytest.mark.parametrize(
    ("web_settings", "enabled"),
    [
        ({}, True),  # loopback, no auth: the local user
        ({"auth": "ann:secret"}, False),  # behind a login (or a proxy): opt-in only
        ({"host": "0.0.0.0", "auth": "ann:secret"}, False),
        ({"ingest_roots": []}, False),
        ({"ingest_roots": ["/srv/news"], "auth": "ann:secret"}, True),
    ],
    ids=["local user", "auth", "network bind", "turned off", "configured roots"],
)
def test_the_server_path_box_is_opt_in(real: Any, web_settings: dict[str, Any], enabled: bool) -> None:
    app, _ = real(**web_settings)
    assert _folder_box(app).visible is enabled


def test_auth_given_to_start_hides_the_box(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    app, _ = web.start(Assistant.from_settings(settings), settings, port=free_port(), auth="ann:secret")
    try:
        assert _folder_box(app).visible is False
        (tmp_path / "secret.txt").write_text(EZB, encoding="utf-8")
        message = handler(app, "ingest_files")(None, str(tmp_path / "secret.txt"), progress=no_progress)
        assert message == "Choose files to upload."
    finally:
        app.close()


def test_configured_roots_limit_typed_paths(tmp_path: Path, real: Any) -> None:
    root = tmp_path / "news"
    (root / "2024").mkdir(parents=True)
    (root / "2024" / "ezb.txt").write_text(EZB, encoding="utf-8")
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "fed.txt").write_text(FED, encoding="utf-8")
    (root / "escape").symlink_to(outside)
    app, assistant = real(ingest_roots=[str(root)], auth="ann:secret")
    ingest = handler(app, "ingest_files")
    for typed in (str(outside), f"{root}/../private", str(root / "escape")):
        message = ingest(None, typed, progress=no_progress)
        assert "is not inside the folders this server may ingest" in message, typed
    assert ingest(None, str(root / "2024"), progress=no_progress).startswith("Added 1")
    assert ingest(None, str(root / "nope"), progress=no_progress).endswith(
        "No such file or folder: " + str(root / "nope")
    )
    assert len(assistant.index.articles()) == 1


def test_server_paths_policy() -> None:
    local = web.ServerPaths.from_settings(Settings().web)
    assert local.enabled and local.roots == ()
    with pytest.raises(InputError, match="turned off"):
        web.ServerPaths(enabled=False).check("/tmp")
