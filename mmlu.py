#!/usr/bin/env python3
"""MMLU on vLLM, scored like lm-evaluation-harness (k-shot, letter log-probabilities). See README.md."""

from mlperf_vllm.cli.mmlu_main import main

if __name__ == "__main__":
    raise SystemExit(main())
