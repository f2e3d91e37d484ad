"""A deterministic ChatModel for tests and plumbing: it answers from the evidence it is given.

It quotes the first numbered evidence line of the last user message and cites it, so answers are
grounded by construction; `FakeChatModel(script=[...])` replays fixed replies instead (to test the
verifier with invented facts or bad markers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from assistant.backends.base import Message


class FakeChatModel:
    """`verdict` answers every choose() call: the probability of its first choice (1.0: "yes")."""

    def __init__(
        self, script: Sequence[str] | None = None, *, chunk_size: int = 8, verdict: float = 1.0
    ) -> None:
        self._script = list(script) if script is not None else None
        self._calls = 0
        self._chunk_size = chunk_size
        self.verdict = verdict
        self.requests: list[list[Message]] = []
        self.choices: list[list[Message]] = []

    def choose(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        self.choices.append(list(messages))
        if len(choices) == 1:
            return [1.0]
        rest = (1.0 - self.verdict) / (len(choices) - 1)
        return [self.verdict] + [rest] * (len(choices) - 1)

    @property
    def backend(self) -> str:
        return "fake"

    @property
    def model(self) -> str:
        return "fake-echo" if self._script is None else "fake-script"

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        self.requests.append(list(messages))
        reply = self._reply(messages)
        cuts = [reply.index(s) for s in stop if s and s in reply]
        if cuts:
            reply = reply[: min(cuts)]
        # One yielded piece counts as one token, like the real backends.
        pieces = [reply[i : i + self._chunk_size] for i in range(0, len(reply), self._chunk_size)]
        yield from pieces[:max_tokens]

    def _reply(self, messages: Sequence[Message]) -> str:
        if self._script is not None:
            reply = self._script[min(self._calls, len(self._script) - 1)]
            self._calls += 1
            return reply
        last = messages[-1]["content"] if messages else ""
        match = re.search(r"^Evidence:\n\[(\d+)\] (.+)$", last, re.MULTILINE)
        if match is None:
            # Rewrite and translation prompts: echo the question / the text unchanged.
            tagged = re.search(r"<(question|text)>(.*?)</\1>", last, re.DOTALL)
            if tagged:
                return tagged.group(2).strip()
            asked = re.search(r"^Question: (.+)$", last, re.MULTILINE)
            return asked.group(1).strip() if asked else "NO_ANSWER"
        label = re.search(r"«copied words» (\S+:)", last)
        quote = match.group(2).strip()
        return f"[{match.group(1)}] «{quote}» {label.group(1) if label else 'Answer:'} {quote}\n"
