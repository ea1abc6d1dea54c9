//! From a datanet, a model and a query to a circuit witness.

use crate::Result;
use lineage_circuits::{AttributionInput, CircuitShape};
use lineage_core::{attribution::{self, Attribution}, datanet::Datanet, model::QuantizedModel};

/// A prepared attribution: the native result and the circuit witness.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub shape: CircuitShape,
    pub attribution: Attribution,
    pub input: AttributionInput,
}

/// Attribute `query` over every full aligned window of `batch` examples and
/// prepare the window with the largest positive-influence total (the batch
/// that most supports the prediction). Windows with more distinct
/// contributors than `slots` are skipped.
pub fn prepare_best_window(
    datanet: &Datanet,
    model: &QuantizedModel,
    query: &[u8],
    batch: usize,
    slots: usize,
    pool_wei: u128,
) -> Result<Prepared> {
    let shape = CircuitShape::new(batch, slots, datanet.tree.depth())?;
    let windows = datanet.contributions.len() / batch;
    let mut best: Option<(u128, Attribution)> = None;
    for w in 0..windows {
        let a = attribution::attribute(model, datanet, w * batch, batch, query).map_err(lineage_circuits::Error::from)?;
        if a.totals.len() > slots {
            continue;
        }
        let total: u128 = a.totals.iter().map(|(_, t)| *t).sum();
        if total > 0 && best.as_ref().is_none_or(|(b, _)| total > *b) {
            best = Some((total, a));
        }
    }
    let (_, attribution) = best.ok_or(lineage_circuits::Error::Core(lineage_core::Error::NoPositiveInfluence))?;
    prepare(datanet, model, query, &shape, attribution, pool_wei)
}

/// Prepare a given window.
pub fn prepare(
    datanet: &Datanet,
    model: &QuantizedModel,
    query: &[u8],
    shape: &CircuitShape,
    attribution: Attribution,
    pool_wei: u128,
) -> Result<Prepared> {
    let input = AttributionInput::new(shape, model, datanet, &attribution, query, pool_wei)?;
    Ok(Prepared { shape: *shape, attribution, input })
}
