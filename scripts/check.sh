#!/usr/bin/env bash
# The project's test command: lint, types, the test suite, then the groundedness eval gate.
# Uses the active virtualenv, or ./.venv when none is active.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${VIRTUAL_ENV:-}" && -x .venv/bin/python ]]; then
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
export ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 DO_NOT_TRACK=1

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy (strict on assistant/)"
mypy
echo "== pytest"
python -m pytest -q
# CI asks a small, fixed subset of each eval suite (each gated against its own baseline); the
# whole suites run by hand or from benchmarks/ (see evals/README.md).
echo "== eval gate: news, smoke subset (embedded model)"
assistant eval --smoke
echo "== eval gate: XQuAD-dev, smoke subset (skipped when ../shared/xquad-dev is absent)"
assistant eval --suite xquad --smoke
echo "== eval gate: verifier perturbations, every fourth claim"
assistant eval --suite perturbations --smoke
