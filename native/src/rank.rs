//! The planner's per-request arithmetic over every reachable model: estimated costs, and the balanced
//! strategy's tier-grouped scores and order.
//!
//! Reference: `router_service/strategy/planner.py` (`Planner._candidates`, the cost column) and
//! `balanced.py` (`Balanced.rank`). Every float is computed with the same operations in the same order
//! (no fused multiply-add, libm's log1p), so results are bit-for-bit equal to the reference's;
//! `tests/strategy/test_native_rank.py` checks that property.

use std::cmp::Ordering;

use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

/// Input and output list prices (nano-USD per `unit` tokens) of a fixed list of models.
#[pyclass(frozen, module = "llm_router_native")]
pub struct PriceTable {
    prices: Vec<(u128, u128)>,
    unit: u128,
}

#[pymethods]
impl PriceTable {
    #[new]
    fn new(prices: Vec<(u64, u64)>, unit: u64) -> PyResult<Self> {
        if unit == 0 {
            return Err(PyValueError::new_err("unit must be positive"));
        }
        Ok(Self { prices: prices.into_iter().map(|(i, o)| (i as u128, o as u128)).collect(), unit: unit as u128 })
    }

    /// Each model's cost of a request, rounded half up: (p * in + o * out + unit / 2) // unit.
    /// OverflowError where 128 bits would not hold the exact sum (the caller's Python integers do).
    fn costs<'py>(&self, py: Python<'py>, prompt_tokens: u64, output_tokens: u64) -> PyResult<Bound<'py, PyList>> {
        let (p, o, half) = (prompt_tokens as u128, output_tokens as u128, self.unit / 2);
        let mut out = Vec::with_capacity(self.prices.len());
        for &(i, o_price) in &self.prices {
            let sum = (p * i).checked_add(o * o_price).and_then(|s| s.checked_add(half));
            match sum {
                Some(s) => out.push(s / self.unit),
                None => return Err(PyOverflowError::new_err("cost beyond 128 bits")),
            }
        }
        PyList::new(py, out)
    }

    fn __len__(&self) -> usize {
        self.prices.len()
    }
}

/// 1.0 for the preferred tier; one tier up 0.7, one down 0.6, two up 0.4, two down 0.2.
fn tier_fit(preferred: i64, tier: i64) -> f64 {
    let steps = (tier - preferred) as f64;
    if tier >= preferred {
        1.0 - 0.3 * steps
    } else {
        1.0 + 0.4 * steps
    }
}

const MIN_LOG_SPAN: f64 = std::f64::consts::LN_2;

/// A candidate set's tier groups with each member's quality and latency score (in tier-sorted position).
#[pyclass(frozen, module = "llm_router_native")]
pub struct TierRanker {
    by_tier: Vec<usize>,
    groups: Vec<(i64, usize, usize)>,
    quality: Vec<f64>,
    latency: Vec<f64>,
}

#[pymethods]
impl TierRanker {
    /// `by_tier`: candidate index at each tier-sorted position; `groups`: (tier, start, stop) runs of
    /// that order; `quality`, `latency`: score parts in tier-sorted position.
    #[new]
    fn new(by_tier: Vec<usize>, groups: Vec<(i64, usize, usize)>, quality: Vec<f64>, latency: Vec<f64>) -> PyResult<Self> {
        let n = by_tier.len();
        if quality.len() != n || latency.len() != n || by_tier.iter().any(|&i| i >= n) {
            return Err(PyValueError::new_err("by_tier, quality and latency must describe the same candidates"));
        }
        let mut next = 0;
        for &(_, start, stop) in &groups {
            if start != next || stop <= start || stop > n {
                return Err(PyValueError::new_err("groups must be consecutive non-empty runs covering every position"));
            }
            next = stop;
        }
        if next != n {
            return Err(PyValueError::new_err("groups must cover every position"));
        }
        Ok(Self { by_tier, groups, quality, latency })
    }

    /// Balanced's ranking for `costs` (candidate order) under weights wq, wl, wc and a preferred tier:
    /// (order, scores, cost parts, fit of the best run, length of the best run), scores and cost parts
    /// in candidate order.
    #[allow(clippy::type_complexity)]
    fn rank<'py>(
        &self,
        py: Python<'py>,
        costs: Vec<f64>,
        wq: f64,
        wl: f64,
        wc: f64,
        preferred: i64,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>, Bound<'py, PyList>, f64, usize)> {
        let n = self.by_tier.len();
        if costs.len() != n {
            return Err(PyValueError::new_err(format!("{} costs for {n} candidates", costs.len())));
        }
        let mut scores = vec![0.0f64; n];
        let mut cheap = vec![0.0f64; n];
        let mut runs: Vec<(f64, Vec<usize>)> = Vec::with_capacity(self.groups.len());
        let mut logs: Vec<f64> = Vec::with_capacity(n);
        for &(tier, start, stop) in &self.groups {
            logs.clear();
            logs.extend(self.by_tier[start..stop].iter().map(|&i| costs[i].ln_1p()));
            let low = logs.iter().copied().fold(f64::INFINITY, f64::min);
            let high = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let span = high - low;
            let scale = 1.0 / if span >= MIN_LOG_SPAN { span } else { MIN_LOG_SPAN };
            let top = 1.0 + low * scale;
            let mut local: Vec<(usize, f64)> = Vec::with_capacity(stop - start);
            for (k, x) in logs.iter().enumerate() {
                let pos = start + k;
                let c = top - x * scale;
                let score = (wq * self.quality[pos] + wl * self.latency[pos]) + wc * c;
                let i = self.by_tier[pos];
                scores[i] = score;
                cheap[i] = c;
                local.push((i, score));
            }
            // Best first; a stable sort keeps equal scores in catalog order.
            local.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal));
            runs.push((tier_fit(preferred, tier), local.into_iter().map(|(i, _)| i).collect()));
        }
        runs.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal));
        let (best_fit, best_len) = runs.first().map_or((0.0, 0), |r| (r.0, r.1.len()));
        let order = PyList::new(py, runs.iter().flat_map(|r| r.1.iter().copied()))?;
        Ok((order, PyList::new(py, &scores)?, PyList::new(py, &cheap)?, best_fit, best_len))
    }

    fn __len__(&self) -> usize {
        self.by_tier.len()
    }
}
