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
echo "== eval gate (embedded model)"
assistant eval
