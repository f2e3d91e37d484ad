"""`assistant ARGS` with the fake LLM made slow on demand, for the terminal tests that press Ctrl+C
while an answer is being written (tests/integration/test_chat_terminal.py).

    python -m tests.support.chat_driver ARGS...

While the file named by $CHAT_DRIVER_SLOW exists, an answer draft waits before each token (in short
sleeps, so that SIGINT lands at once) until the file is gone; other calls (rewrites, yes/no checks)
stay fast. With $CHAT_DRIVER_SWALLOW set, the first Ctrl+C of a slow draft is swallowed, as code
underneath an answer (a finalizer, a C extension) can swallow it. The index and the rest come from
the environment's settings, as for `assistant` itself.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.backends import factory
from assistant.backends.base import ChatModel, Message
from assistant.config import Settings
from assistant.interfaces.cli import main
from tests.support.fakes import FakeChatModel


class SlowWhenFlagged(FakeChatModel):
    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        flag = os.environ.get("CHAT_DRIVER_SLOW")
        swallow = bool(os.environ.get("CHAT_DRIVER_SWALLOW"))
        drafting = bool(messages) and "Evidence:" in messages[-1]["content"]
        for piece in super().stream(messages, **kwargs):
            while drafting and flag and Path(flag).exists():
                try:
                    time.sleep(0.05)
                except KeyboardInterrupt:
                    if not swallow:
                        raise
                    swallow = False
            yield piece


def _chat_model(settings: Settings) -> ChatModel:
    return SlowWhenFlagged()


if __name__ == "__main__":
    factory.make_chat_model = _chat_model  # the one seam: what `assistant` would build
    sys.exit(main(sys.argv[1:]))
