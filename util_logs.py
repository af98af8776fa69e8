#!/usr/bin/env python3
"""Parse LoadGen logs into structured JSON. See README.md."""

from mlperf_vllm.cli.util_logs_main import main

if __name__ == "__main__":
    raise SystemExit(main())
