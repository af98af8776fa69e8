#!/usr/bin/env bash
# Set up (if needed) and run the demo: a short Offline accuracy + performance run of the built-in
# tiny model on the CPU, through the real vLLM and LoadGen, ending with the path of its report.
#   bash scripts/demo.sh [extra run.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
set +e
.venv/bin/python run.py --model demo --category datacenter --scenario offline --mode both \
  --total-sample-count 64 --min-duration 0 "$@"
rc=$?
set -e
# 5 = the run finished but a gate failed: the demo model has random weights, so its ROUGE is near
# zero and the accuracy gate FAILs by design. Everything else is a real error.
if [ "$rc" -eq 5 ]; then
  echo "(demo: the accuracy FAIL is expected — the demo model has random weights; see README)"
  exit 0
fi
exit "$rc"
