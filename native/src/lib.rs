//! Compiled hot loops of llm-router. Each function has a pure-Python reference in `router_service`
//! that the router uses when this module is not installed (or `LLM_ROUTER_NATIVE=0`), and the tests
//! check that both give identical results.

use pyo3::prelude::*;

mod rank;
mod scan;

#[pymodule]
fn llm_router_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<scan::TokenScanner>()?;
    m.add_class::<rank::TierRanker>()?;
    m.add_class::<rank::PriceTable>()?;
    // Bumped whenever the Python-facing interface changes; the router refuses a mismatched build.
    m.add("INTERFACE", 1)?;
    // What the build was made from (build.rs): the router refuses a build older than the sources beside it.
    m.add("SOURCE_DIGEST", env!("LLM_ROUTER_NATIVE_SOURCE_DIGEST"))?;
    Ok(())
}
