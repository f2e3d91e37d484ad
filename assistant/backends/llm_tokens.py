"""Token bytes to text for the embedded model: whole UTF-8 characters out of byte-level tokens, and
stop sequences found across token boundaries without showing a stop's first half."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from typing import Any

# llama.cpp's vocabulary types
_VOCAB_SPM = 1
_VOCAB_BPE = 2


def _gpt2_byte_decoder() -> dict[str, int]:
    # Byte-level BPE vocabularies (GPT-2, Qwen, Llama 3) spell each byte as one printable character.
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


class TokenDecoder:
    """Token ids -> text, holding back the bytes of a character split across tokens.

    cyllama's `token_to_piece` decodes each token alone with errors='replace', so a token carrying
    half of a multi-byte character (emoji, rare umlaut merges) comes back as U+FFFD; for those the
    raw bytes are recovered from the vocabulary's spelling and fed to an incremental UTF-8 decoder.
    """

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._type = int(vocab.vocab_type)
        self._bytes_of = _gpt2_byte_decoder() if self._type == _VOCAB_BPE else {}
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, token: int) -> str:
        return str(self._utf8.decode(self.token_bytes(token)))

    def token_bytes(self, token: int) -> bytes:
        piece = str(self._vocab.token_to_piece(token, 0, False))
        if "\ufffd" not in piece:
            return piece.encode("utf-8")
        spelling = str(self._vocab.get_text(token))
        if self._type == _VOCAB_BPE:
            try:
                return bytes(self._bytes_of[c] for c in spelling)
            except KeyError:
                return piece.encode("utf-8")
        if self._type == _VOCAB_SPM and (m := _BYTE_TOKEN.fullmatch(spelling)):
            return bytes([int(m.group(1), 16)])
        return piece.encode("utf-8")


class StopScanner:
    """Cuts the reply at the first stop sequence, even one split across pieces."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._buf = ""

    def push(self, text: str) -> tuple[str, bool]:
        if not self._stops:
            return text, False
        self._buf += text
        hits = [i for i in (self._buf.find(s) for s in self._stops) if i >= 0]
        if hits:
            out, self._buf = self._buf[: min(hits)], ""
            return out, True
        cut = len(self._buf) - self._hold
        if cut <= 0:
            return "", False
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return out, False

    def flush(self) -> str:
        out, self._buf = self._buf, ""
        return out
