//! A readable provenance report: datanet → model → output → who was paid.

use crate::VerifiedClaim;
use lineage_core::field::fr_to_hex;
use std::fmt;

/// Provenance of one verified attribution claim.
#[derive(Clone, Debug)]
pub struct ProvenanceReport {
    pub verified: VerifiedClaim,
    pub datanet_name: Option<String>,
    pub window_size: usize,
}

fn eth(wei: u128) -> String {
    format!("{}.{:018}", wei / 1_000_000_000_000_000_000, wei % 1_000_000_000_000_000_000)
}

impl fmt::Display for ProvenanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.verified.claim;
        writeln!(f, "Provenance report (proof VERIFIED against verifying key {})", c.vk_hash)?;
        writeln!(
            f,
            "  datanet  {}{}",
            fr_to_hex(&c.datanet_root),
            self.datanet_name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
        )?;
        // u128 cannot overflow: both factors are below 2^64
        let start = c.window_index as u128 * self.window_size as u128;
        writeln!(f, "           examples [{start}, {}) attributed", start + self.window_size as u128)?;
        writeln!(f, "  model    {}", fr_to_hex(&c.model_commitment))?;
        writeln!(f, "  query    {}", fr_to_hex(&c.query_commitment))?;
        writeln!(f, "  output   class {}", c.predicted_class)?;
        writeln!(f, "  paid     {} OPEN to {} contributors:", eth(c.pool_wei), c.payouts.iter().filter(|p| p.amount_wei > 0).count())?;
        let mut sorted = c.payouts.clone();
        sorted.sort_by(|a, b| b.amount_wei.cmp(&a.amount_wei).then(a.contributor.cmp(&b.contributor)));
        for p in sorted.iter().filter(|p| p.amount_wei > 0) {
            let pct = p.amount_wei as f64 * 100.0 / c.pool_wei.max(1) as f64;
            writeln!(f, "    {}  {:>24} OPEN  {:6.2}%", p.contributor, eth(p.amount_wei), pct)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Claim;
    use lineage_circuits::PublicInputs;
    use lineage_core::{payout::Payout, Fr};

    /// A crafted window index and shape used to overflow `index × size`.
    #[test]
    fn extreme_window_and_shape_do_not_overflow() {
        let claim = Claim {
            vk_hash: Default::default(),
            datanet_root: Fr::from(1u64),
            model_commitment: Fr::from(2u64),
            query_commitment: Fr::from(3u64),
            predicted_class: 0,
            window_index: u64::MAX,
            pool_wei: u128::MAX,
            payouts: vec![Payout { contributor: alloy_primitives::Address::with_last_byte(1), amount_wei: u128::MAX }],
            proof: vec![],
        };
        let public_inputs = PublicInputs {
            datanet_root: Fr::from(1u64),
            model_commitment: Fr::from(2u64),
            query_commitment: Fr::from(3u64),
            predicted_class: 0,
            payout_commitment: Fr::from(4u64),
            window_index: u64::MAX,
        };
        let report = ProvenanceReport { verified: VerifiedClaim { claim, public_inputs }, datanet_name: None, window_size: usize::MAX };
        let text = report.to_string();
        assert!(text.contains(&(u64::MAX as u128 * usize::MAX as u128).to_string()), "{text}");
    }
}
