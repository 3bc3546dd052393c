"""Traffic splitting: a stable hash of the routing key picks an experiment arm in its configured share.

The hash is BLAKE2b over the experiment name and the key, so the same tenant (or request id) lands in
the same arm in every process and after every restart, and renaming the experiment reshuffles keys.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass

from router_service.strategy.plan import Weights
from router_service.strategy.settings import ExperimentSettings, WeightSettings

_SCALE = 1 << 64


def _weights(w: WeightSettings) -> Weights:
    return Weights(cost=w.cost, latency=w.latency, quality=w.quality)


@dataclass(frozen=True, slots=True)
class Arm:
    label: str
    strategy: str | None
    weights: Weights | None


class Experiment:
    def __init__(self, settings: ExperimentSettings) -> None:
        self.name = settings.name
        self._prefix = settings.name.encode() + b"\x00"
        total = sum(arm.share for arm in settings.arms)
        self.arms = tuple(
            Arm(f"{settings.name}:{arm.name}", arm.strategy, _weights(arm.weights) if arm.weights else None)
            for arm in settings.arms
        )
        # Upper bounds of each arm's slice of [0, 2**64), from the cumulative normalised shares.
        bounds, running = [], 0.0
        for arm in settings.arms[:-1]:
            running += arm.share / total
            bounds.append(int(running * _SCALE))
        self._bounds = bounds

    def assign(self, routing_key: str) -> Arm:
        """The arm for this key; an empty key (no tenant, no request id) goes to the first arm."""
        if not routing_key:
            return self.arms[0]
        digest = hashlib.blake2b(self._prefix + routing_key.encode(), digest_size=8).digest()
        return self.arms[bisect.bisect_right(self._bounds, int.from_bytes(digest, "big"))]
