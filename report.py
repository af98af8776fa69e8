#!/usr/bin/env python3
"""Re-render run reports, compare runs, rebuild the results index. See README.md."""

from mlperf_vllm.cli.report_main import main

if __name__ == "__main__":
    raise SystemExit(main())
