"""The append-only JSONL log of a tune's probes: what makes a tune resumable across machine slices.

One line per measurement, written and flushed before the tune goes on, so a tune killed at any point
loses at most the probe it was in. A line whose fingerprint digest differs from the tune's is another
machine's (or another vLLM's) and is not reused; a torn last line (killed mid-write) is skipped.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

SCHEMA = 1


@dataclass(frozen=True)
class Probe:
    """One measurement of one candidate.

    kind: 'offline' (tokens/s over a warm window), 'screen' (one QPS near the edge: margin to the
    limits), 'edge' (the QPS search's highest passing QPS). repeat numbers the measurements of one
    candidate of one kind (the start is measured twice: its spread is the noise).
    """

    kind: str
    settings: dict[str, Any]
    fingerprint: str
    repeat: int = 0
    metric: float | None = None  # Offline tokens/s
    qps: float | None = None  # the screen's QPS, the edge QPS, or Offline's samples/s in its window
    limiting: str | None = None  # 'TTFT' or 'TPOT': the constraint nearest its limit
    margin: float | None = None  # 1 - p99/limit of that constraint (negative: over it)
    seconds: float = 0.0  # including the engine's start when this probe started it
    started: bool = False  # this probe started an engine
    start_failure: str | None = None  # why the engine did not start (the candidate is dropped)

    def lookup_key(self) -> tuple[str, str, int, float | None]:
        return lookup_key(self.kind, self.settings, self.repeat, self.qps)

    def to_json(self) -> str:
        return json.dumps({"schema": SCHEMA, **asdict(self)}, sort_keys=True)


def lookup_key(kind: str, settings: dict[str, Any], repeat: int, qps: float | None) -> tuple[str, str, int, float | None]:
    """A probe's identity: kind, canonical settings, repeat, and for a screen the QPS it ran at."""
    return kind, json.dumps(settings, sort_keys=True, separators=(",", ":")), repeat, qps if kind == "screen" else None


class ProbeLog:
    """The probes of one tune (one fingerprint) in `path`, read once and appended to."""

    def __init__(self, path: Path, fingerprint: str, facts: dict[str, Any] | None = None) -> None:
        self.path, self.fingerprint, self.facts = path, fingerprint, facts
        self.probes: list[Probe] = []
        self.foreign = 0  # lines of other fingerprints, ignored
        self.headers: dict[str, dict[str, Any]] = {}  # digest -> the fingerprint's facts
        self.on_append: Callable[[Probe], None] | None = None  # told of each probe once it is durable
        self._read()

    def earlier(self) -> list[dict[str, Any]]:
        """The facts of the other fingerprints this log holds probes of, oldest first."""
        return [facts for digest, facts in self.headers.items() if digest != self.fingerprint]

    def _read(self) -> None:
        if not self.path.exists():
            return
        fields = set(Probe.__dataclass_fields__)
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            try:
                d = json.loads(line)
                if d.get("header"):
                    self.headers[d["fingerprint"]] = d["facts"]
                    continue
                probe = Probe(**{k: v for k, v in d.items() if k in fields})
            except (json.JSONDecodeError, TypeError):
                log.warning("%s line %d is not a probe (a tune killed while writing it?); skipped", self.path, n)
                continue
            if probe.fingerprint != self.fingerprint:
                self.foreign += 1
                continue
            self.probes.append(probe)

    def find(self, kind: str, settings: dict[str, Any], repeat: int = 0, qps: float | None = None) -> Probe | None:
        """The logged probe of this identity, or a logged start failure of these settings."""
        key = lookup_key(kind, settings, repeat, qps)
        for p in self.probes:
            if p.lookup_key() == key or (p.start_failure and p.settings == settings):
                return p
        return None

    def append(self, probe: Probe) -> None:
        """Write one line and make it durable before the tune goes on."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = self.path.exists() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("\n" if torn else "")
            if self.facts is not None and self.fingerprint not in self.headers:
                f.write(json.dumps({"schema": SCHEMA, "header": True, "fingerprint": self.fingerprint,
                                    "facts": self.facts}, sort_keys=True) + "\n")
                self.headers[self.fingerprint] = self.facts
            f.write(probe.to_json() + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.probes.append(probe)
        if self.on_append is not None:
            self.on_append(probe)

    @property
    def seconds(self) -> float:
        """Time already spent on this tune, across every slice."""
        return sum(p.seconds for p in self.probes)

    @property
    def starts(self) -> int:
        """Engine starts the tune's decisions spent, failed ones included (see `follows`)."""
        return sum(1 for p in self.probes if p.started or p.start_failure)

    def follows(self, settings: dict[str, Any]) -> bool:
        """Whether a probe of `settings` runs on the engine of the last logged probe. A start is counted where
        it is not: a resumed tune restarts the engine it was killed in, but spends starts as an uninterrupted one."""
        last = self.probes[-1] if self.probes else None
        return last is not None and not last.start_failure and last.settings == settings
