"""Online per-model statistics from outcomes and ratings, used to adjust quality and latency priors.

Evidence is kept per (model, domain, complexity) cell and per (model, domain), fades with a half-life
(so a model that failed an hour ago can win again), and is bounded: the least recently updated cells
are forgotten first. Adjusted values shrink toward the catalog's prior: a cell's few observations move
it a little, many move it a lot (`prior_weight` observations' worth of trust in the prior).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from router_service.domain import Complexity, Domain, ModelRef
from router_service.strategy.settings import LearningSettings

# A rating of 1-5 as a quality in [0, 1]; 4 ("good") sits near the fast tier's prior, 5 at the top.
RATING_QUALITY = {1: 0.0, 2: 0.35, 3: 0.6, 4: 0.85, 5: 1.0}

CellKey = tuple[ModelRef, Domain, Complexity | None]


class _Cell:
    """Decayed sums; `time` is when they were last brought up to date."""

    __slots__ = ("failed", "latency_sum", "latency_w", "ok", "rating_sum", "rating_w", "time")

    def __init__(self, now: float) -> None:
        self.time = now
        self.ok = self.failed = 0.0
        self.rating_w = self.rating_sum = 0.0
        self.latency_w = self.latency_sum = 0.0

    def decay_to(self, now: float, half_life_s: float) -> None:
        if now <= self.time:
            return
        f = math.exp2(-(now - self.time) / half_life_s)
        self.ok *= f
        self.failed *= f
        self.rating_w *= f
        self.rating_sum *= f
        self.latency_w *= f
        self.latency_sum *= f
        self.time = now


@dataclass(frozen=True, slots=True)
class _View:
    time: float
    version: int
    values: Mapping[ModelRef, tuple[float, float]]


class ModelStats:
    """What the router has seen of each model; `adjust` turns it into quality and latency estimates."""

    def __init__(self, settings: LearningSettings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock
        self._cells: OrderedDict[CellKey, _Cell] = OrderedDict()
        # Cells per model, so planning can skip the (usually many) models never observed.
        self._per_model: dict[ModelRef, int] = {}
        self._version = 0
        self._views: dict[tuple[Domain, Complexity], _View] = {}

    def __len__(self) -> int:
        return len(self._cells)

    def record_outcome(
        self, ref: ModelRef, domain: Domain, complexity: Complexity, success: bool, latency_s: float
    ) -> None:
        for cell in self._touch(ref, domain, complexity):
            if success:
                cell.ok += 1.0
                # Only successful calls say how fast the model answers; a timeout says it failed.
                if latency_s > 0 and math.isfinite(latency_s):
                    cell.latency_w += 1.0
                    cell.latency_sum += latency_s * 1000.0
            else:
                cell.failed += 1.0

    def record_rating(self, ref: ModelRef, domain: Domain, complexity: Complexity, rating: int) -> None:
        if rating not in RATING_QUALITY:
            raise ValueError(f"rating must be 1-5, got {rating}")
        value = RATING_QUALITY[rating]
        for cell in self._touch(ref, domain, complexity):
            cell.rating_w += 1.0
            cell.rating_sum += value

    def adjust(
        self, ref: ModelRef, domain: Domain, complexity: Complexity, *, prior_quality: float,
        prior_latency_ms: float, now: float | None = None,
    ) -> tuple[float, float]:
        """(quality, latency_ms) for this model on this kind of prompt, given the catalog's priors."""
        now = self._clock() if now is None else now
        quality, reliability, latency = prior_quality, 1.0, prior_latency_ms
        # Coarse level first (model and domain), then the cell, each shrinking toward the level above.
        for key in ((ref, domain, None), (ref, domain, complexity)):
            cell = self._cells.get(key)
            if cell is not None:
                quality, reliability, latency = self._shrink(cell, now, quality, reliability, latency)
        return quality * reliability, latency

    def view(
        self, domain: Domain, complexity: Complexity, prior: Callable[[ModelRef, Domain], tuple[float, float]]
    ) -> Mapping[ModelRef, tuple[float, float]]:
        """Adjusted (quality, latency_ms) of every observed model, recomputed at most every refresh_s."""
        if not self._per_model:
            return {}
        now = self._clock()
        cached = self._views.get((domain, complexity))
        if cached is not None:
            age = now - cached.time
            # Unchanged evidence only decays, which moves values by well under 1% per 1% of half-life.
            if age < self._settings.refresh_s or (
                cached.version == self._version and age < self._settings.half_life_s / 100
            ):
                return cached.values
        values = {
            ref: self._adjust_with(ref, domain, complexity, prior(ref, domain), now) for ref in self._per_model
        }
        self._views[(domain, complexity)] = _View(now, self._version, values)
        return values

    def _adjust_with(
        self, ref: ModelRef, domain: Domain, complexity: Complexity, prior: tuple[float, float], now: float
    ) -> tuple[float, float]:
        return self.adjust(ref, domain, complexity, prior_quality=prior[0], prior_latency_ms=prior[1], now=now)

    def _shrink(
        self, cell: _Cell, now: float, quality: float, reliability: float, latency: float
    ) -> tuple[float, float, float]:
        half_life = self._settings.half_life_s
        k = self._settings.prior_weight
        f = math.exp2(-(now - cell.time) / half_life) if now > cell.time else 1.0
        ok, failed = cell.ok * f, cell.failed * f
        rating_w, latency_w = cell.rating_w * f, cell.latency_w * f
        quality = (cell.rating_sum * f + k * quality) / (rating_w + k)
        reliability = (ok + k * reliability) / (ok + failed + k)
        latency = (cell.latency_sum * f + k * latency) / (latency_w + k)
        return quality, reliability, latency

    def _touch(self, ref: ModelRef, domain: Domain, complexity: Complexity) -> list[_Cell]:
        now = self._clock()
        self._version += 1
        cells = []
        for key in ((ref, domain, None), (ref, domain, complexity)):
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = _Cell(now)
                self._per_model[ref] = self._per_model.get(ref, 0) + 1
                self._evict()
            else:
                self._cells.move_to_end(key)
                cell.decay_to(now, self._settings.half_life_s)
            cells.append(cell)
        return cells

    def _evict(self) -> None:
        while len(self._cells) > self._settings.max_cells:
            (ref, _, _), _ = self._cells.popitem(last=False)
            left = self._per_model[ref] - 1
            if left:
                self._per_model[ref] = left
            else:
                del self._per_model[ref]
