"""Opening files (regular files only) and turning their bytes into text: BOMs, UTF-16 without a BOM,
UTF-8, else the likeliest single-byte code page."""

from __future__ import annotations

import codecs
import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO, Final

from charset_normalizer import from_bytes

from assistant.loaders.base import Failure

logger = logging.getLogger(__name__)

SNIFF_BYTES: Final = 64 * 1024
_CHECK_BLOCK: Final = 1024 * 1024


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "a special file"


def not_regular(path: Path) -> Failure | None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return Failure(f"cannot be read: {exc.strerror or exc}")
    if stat.S_ISREG(mode):
        return None
    return Failure(f"not a regular file ({_file_kind(mode)}): only regular files are read")


def open_regular(path: Path) -> tuple[BinaryIO, int] | Failure:
    """Open a regular file for reading; anything else (a FIFO would block forever, /dev/zero never
    ends) is refused. O_NONBLOCK plus fstat on the opened file leaves no window to swap the file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return Failure(f"cannot be read: {exc.strerror or exc}")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return Failure(f"not a regular file ({_file_kind(info.st_mode)}): only regular files are read")
    return os.fdopen(fd, "rb"), info.st_size


# ---------------------------------------------------------------------------------------------
# Formats


_WESTERN_LANGUAGES: Final = frozenset(
    {"German", "English", "French", "Spanish", "Portuguese", "Italian", "Dutch", "Danish", "Swedish"}
    | {"Norwegian", "Finnish", "Unknown"}
)


def decode(data: bytes, path: Path) -> str | Failure:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return Failure("invalid UTF-16 text")
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            return Failure("binary file (contains NUL bytes)")
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            return Failure("binary file (contains NUL bytes)")
        logger.debug("%s has no BOM but reads as %s", path, utf16)
        return text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    encoding = _guess_single_byte(data)
    if encoding is None:
        return Failure("not UTF-8 and no text encoding could be detected")
    logger.debug("%s is not UTF-8; decoded as %s", path, encoding)
    return data.decode(encoding, errors="replace")


def _guess_single_byte(data: bytes) -> str | None:
    best = from_bytes(data).best()
    if best is None:
        return None
    if best.encoding != "cp1252" and best.language in _WESTERN_LANGUAGES:
        # charset-normalizer picks among equally plausible single-byte code pages somewhat arbitrarily
        # (cp1250 turns "São" into "Săo"); for Western European text Windows-1252 is the likely one.
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            return "cp1252"
    return str(best.encoding)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'-be' when the NUL bytes sit at every other position, as in UTF-16 without a byte
    order mark (Latin text has a zero high byte in every character); None for other binary data."""
    sample = data[:8192]
    if len(sample) < 16 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.3 and zeros_even < 0.02:
        encoding = "utf-16-le"
    elif zeros_even > 0.3 and zeros_odd < 0.02:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for ch in text if ch < " " and ch not in "\n\r\t\f")
    return encoding if controls <= len(text) * 0.01 else None


def sniff_encoding(handle: BinaryIO, explicit: str | None) -> str | Failure:
    """The encoding of a row file, from its BOM, its NUL pattern or a pass over it (memory stays at a
    block: a file that is UTF-8 up to row 9,000 and then not is judged by all of it, not its start)."""
    if explicit is not None:
        return explicit
    head = handle.read(SNIFF_BYTES)
    handle.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is not None:
            return utf16
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while block := handle.read(_CHECK_BLOCK):
            decoder.decode(block)
            offset += len(block)
        decoder.decode(b"", final=True)
        handle.seek(0)
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad = offset + exc.start
    handle.seek(max(0, bad - SNIFF_BYTES // 2))
    sample = handle.read(SNIFF_BYTES)
    handle.seek(0)
    guess = _guess_single_byte(sample)
    if guess is None:
        return Failure("not UTF-8 and no text encoding could be detected")
    return guess
