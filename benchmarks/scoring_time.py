#!/usr/bin/env python3
"""Time to score a full datacenter accuracy log: 13368 samples through the whole evaluator path
(hex decode, detokenize, sentence split, ROUGE with stemming), with the demo tokenizer.

    python benchmarks/scoring_time.py [--samples 13368] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=13368)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()

    import numpy as np

    from mlperf_vllm import demo
    from mlperf_vllm.mlperf import accuracy as acc

    tok = acc.load_tokenizer(str(demo.demo_model_dir()))
    rng = random.Random(7)
    references, entries = [], []
    for i in range(a.samples):
        article, highlights = demo.make_article(rng, 6)
        references.append(highlights)
        # A prediction of ~610 characters (the reference's mean) drawn from the same article.
        ids = tok.encode(article[:610], add_special_tokens=False) + [tok.eos_token_id]
        entries.append({"seq_id": i, "qsl_idx": i, "data": np.asarray(ids, np.int32).tobytes().hex().upper(),
                        "token_count": len(ids)})
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "mlperf_log_accuracy.json"
        log_path.write_text(json.dumps(entries))
        size_mb = log_path.stat().st_size / 1e6
        t0 = time.perf_counter()
        loaded = acc.load_accuracy_log(log_path)
        decoded = acc.decode_entries(loaded, len(references))
        preds = acc.detokenize([decoded[i] for i in decoded], tok)
        t1 = time.perf_counter()
        scores = acc.score_texts(preds, [references[i] for i in decoded], workers=a.workers)
        t2 = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| samples | log size | workers | load+decode+detokenize | ROUGE | total | peak RSS (main) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {a.samples:,} | {size_mb:.1f} MB | {a.workers} | {t1 - t0:.1f} s | {t2 - t1:.1f} s | {t2 - t0:.1f} s | "
          f"{rss_mb:,.0f} MB |")
    print(f"(scores: rouge1 {scores['rouge1']}, gen_len {scores['gen_len']:,}, gen_num {scores['gen_num']:,})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
