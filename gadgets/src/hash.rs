//! Poseidon and Merkle gadgets matching `lineage_core::{poseidon, merkle}`.

use halo2_base::{
    gates::{GateChip, GateInstructions},
    poseidon::hasher::{spec::OptimizedPoseidonSpec, PoseidonHasher},
    AssignedValue, Context,
};
use lineage_core::poseidon::{RATE, R_F, R_P, T};

use crate::Fr;

/// Poseidon sponge chip (fixed-length inputs).
pub struct HashChip {
    hasher: PoseidonHasher<Fr, T, RATE>,
    gate: GateChip<Fr>,
}

impl HashChip {
    /// Create the chip and load its constants into `ctx`.
    pub fn new(ctx: &mut Context<Fr>) -> Self {
        let gate = GateChip::default();
        let mut hasher = PoseidonHasher::new(OptimizedPoseidonSpec::<Fr, T, RATE>::new::<R_F, R_P, 0>());
        hasher.initialize_consts(ctx, &gate);
        Self { hasher, gate }
    }

    /// `poseidon(inputs)`.
    pub fn hash(&self, ctx: &mut Context<Fr>, inputs: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        self.hasher.hash_fix_len_array(ctx, &self.gate, inputs)
    }

    /// Root of a power-of-two list of leaves.
    pub fn subtree_root(&self, ctx: &mut Context<Fr>, leaves: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        assert!(leaves.len().is_power_of_two(), "window size is a power of two");
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| self.hash(ctx, &[p[0], p[1]])).collect();
        }
        level[0]
    }

    /// Climb from a subtree root to the root. `index_bits` are the subtree's
    /// index bits, least significant first (each must be constrained boolean);
    /// `path` the bottom-first siblings.
    pub fn climb(
        &self,
        ctx: &mut Context<Fr>,
        mut node: AssignedValue<Fr>,
        index_bits: &[AssignedValue<Fr>],
        path: &[AssignedValue<Fr>],
    ) -> AssignedValue<Fr> {
        assert_eq!(index_bits.len(), path.len());
        for (bit, sib) in index_bits.iter().zip(path) {
            let left = self.gate.select(ctx, *sib, node, *bit);
            let right = self.gate.select(ctx, node, *sib, *bit);
            node = self.hash(ctx, &[left, right]);
        }
        node
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::utils::testing::base_test;
    use lineage_core::{merkle, poseidon};

    #[test]
    fn matches_native_poseidon_and_merkle() {
        base_test().k(14).run_gate(|ctx, gate| {
            let chip = HashChip::new(ctx);
            for len in 0..8u64 {
                let vals: Vec<Fr> = (0..len).map(|i| Fr::from(i * 7919 + 3)).collect();
                let cells = ctx.assign_witnesses(vals.clone());
                assert_eq!(*chip.hash(ctx, &cells).value(), poseidon::hash(&vals), "len {len}");
            }
            let leaves: Vec<Fr> = (0..16u64).map(Fr::from).collect();
            let tree = merkle::MerkleTree::new(&leaves);
            let window = ctx.assign_witnesses(leaves[4..8].to_vec());
            let sub = chip.subtree_root(ctx, &window);
            let path = ctx.assign_witnesses(tree.window_path(4, 4).unwrap());
            let idx = ctx.load_witness(Fr::from(1));
            let bits = gate.num_to_bits(ctx, idx, 2);
            let root = chip.climb(ctx, sub, &bits, &path);
            assert_eq!(*root.value(), tree.root());
        });
    }
}
