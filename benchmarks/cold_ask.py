"""One cold process, as each `assistant ask` is: load the embedded model, read the answer prompt, give
the first token. Run it twice under farm-bench to compare the on-disk prompt cache with none:

    farm-bench -n 3 --warmup 0 --timeout 600 --vs "python -m benchmarks.cold_ask" -- \\
        sh -c 'ASSISTANT_LLM__PROMPT_CACHE=false exec python -m benchmarks.cold_ask >> /tmp/off.log 2>&1'

Prints the prompt tokens, how many were restored from the cache, and the prefill seconds.
"""

from __future__ import annotations

import time

from assistant.backends.base import complete
from assistant.backends.factory import make_chat_model
from assistant.config import Settings
from assistant.prompts import Prompts

EVIDENCE = (
    "[1] Kremlsprecher Dmitri Peskow bestätigte, dass die russischen Streitkräfte mit dem Abzug aus "
    "Berg-Karabach begonnen hätten."
)


def main() -> None:
    settings = Settings()
    messages = Prompts(settings.prompts_dir)["answer"].render(
        evidence=EVIDENCE, question="Who confirmed the withdrawal?", label="Answer:", language="English"
    )
    llm = make_chat_model(settings)
    started = time.perf_counter()
    complete(llm, messages, max_tokens=1)
    stats = getattr(llm, "last_stats", None)
    took = time.perf_counter() - started
    if stats is None:
        print(f"first token after {took:.2f} s (model load included)")
    else:
        print(
            f"first token after {took:.2f} s (model load included): prompt {stats.prompt_tokens} tokens, "
            f"{stats.reused_tokens} restored, prefill {stats.prefill_s:.2f} s"
        )


if __name__ == "__main__":
    main()
