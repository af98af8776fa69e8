#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite (CPU: real vLLM on the demo model, real LoadGen).
#   bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/python -m pytest "$@"
