#!/usr/bin/env python3
"""MLPerf Inference Llama-3.1-8B on vLLM through the official LoadGen. See README.md."""

from mlperf_vllm.cli.run_main import main

if __name__ == "__main__":
    raise SystemExit(main())
