//! The feature-chunk circuit: proves, once per (datanet version, model),
//! that one chunk of the feature table is correct.
//!
//! Chunk `j` covers the aligned window of `m` examples `[j·m, (j+1)·m)` of
//! the datanet (`m` a power of two). For its `active ≤ m` real examples
//! (the rest are the Merkle tree's zero padding) it proves:
//!
//! 1. the model parameters hash to the public **model commitment**;
//! 2. each example's leaf (`lineage_core::datanet`), and the window's
//!    public **subtree root** over the leaves, inactive leaves being 0;
//! 3. each example's feature row (`lineage_core::features`): fine hidden
//!    activations `h̃`, residual vector `r`, first-layer error
//!    `δ = m ⊙ rescale₁₆(W2ᵀ r)` (a floor division with its remainder
//!    range-checked), pixels, contributor (nonzero) and end-of-segment flag —
//!    the next contributor of the last example being the public **next
//!    contributor** (the first of chunk `j + 1`, or 0 at the end);
//! 4. the chunk's factor sums (`lineage_core::kfac::Sums`: its active count
//!    and the sums over its rows of `h̃ h̃ᵀ`, `h̃`, `m mᵀ`, `p pᵀ`, `p`);
//! 5. that the feature column equals these rows on the chunk's rows, these
//!    sums on the sums' rows, and zero on every other row of the table (copy
//!    constraints, so the column's commitment in this chunk's key is exactly
//!    this chunk's share); chunk 0 also writes the model's parameters after
//!    the rows (the per-query circuit's weights), every other chunk zeros
//!    there. Every chunk writes its sums to the same rows: the shares add up
//!    to the whole table's sums, so the per-query key's commitment (the sum
//!    of the chunks') holds the factors' sums over every example.
//!
//! Public instance column: see [`ChunkPublic::to_instances`]. The chain
//! combines the chunks: their subtree roots must hash up to the registered
//! datanet root, consecutive chunks must agree on the contributor at their
//! boundary, and the per-query key's feature commitment must be the sum of
//! the chunks' ones.

use crate::{
    chips::forward::{ForwardChip, ForwardInstructions},
    stage::build_stage,
    table::{feature_value, TableCircuit},
    Error, Result,
};
use halo2_base::{
    gates::{
        circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage},
        GateInstructions, RangeInstructions,
    },
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    datanet::{licence_to_fr, Contribution, Datanet, DigitPayload},
    features::{column_len, sums_offset, PIXEL_OFFSET, RESIDUAL_OFFSET, WIDTH},
    field::{fr_from_address, fr_to_u128, Fr},
    fixed::SCALE,
    kfac::SUMS_LEN,
    model::{QuantizedModel, HIDDEN, INPUT, OUTPUT},
};
use lineage_gadgets::{
    factor::{FactorChip, FactorInstructions},
    hash::HashChip,
};
use serde::{Deserialize, Serialize};

/// Version of the chunk circuit's layout (see
/// [`crate::query::CIRCUIT_VERSION`]). 2: `influence-kfac` features and
/// factor sums; 3: the pixel Gram from packed words.
pub const CIRCUIT_VERSION: u32 = 3;
/// Number of public inputs of a chunk proof.
pub const CHUNK_INSTANCES: usize = 5;
/// Bits of an address.
const ADDR_BITS: usize = 160;
/// Advice cells of a chunk that do not grow with its examples (the model's
/// commitment, the Merkle tree's top), measured (`cargo run --release -p
/// lineage-circuits --example cells`).
pub const CHUNK_FIXED_CELLS: usize = 120_000;
/// Advice cells of a chunk per example (its leaf hash, its forward pass and
/// features, its share of the factor sums and of the Merkle tree), measured
/// (22,186 per example in a chunk of 128 at k = 17).
pub const CHUNK_CELLS_PER_EXAMPLE: usize = 23_000;
/// Advice columns a chunk may use at most (the verifier's bound is 96).
pub const MAX_CHUNK_COLUMNS: usize = 64;
/// Signed bits of `Σ_k W2_kj r_k + 2^15` (`|W2| < 2^15`, `|r| < 2^48`, ten terms).
const DELTA_DIVIDEND_BITS: usize = 70;

/// Everything that fixes a chunk circuit's constraint system (and so its
/// key, apart from the feature column's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkShape {
    /// Examples per chunk (`m`, a power of two).
    pub size: usize,
    /// Which chunk (`j`).
    pub index: usize,
    /// Examples of the table (the per-query circuit's capacity).
    pub capacity: usize,
    /// log2 of the number of rows (the per-query circuit's).
    pub k: u32,
    pub lookup_bits: usize,
}

impl ChunkShape {
    /// Chunk `index` of `size` examples of a table of `capacity`, at the
    /// per-query circuit's `k`.
    pub fn new(size: usize, index: usize, capacity: usize, k: u32) -> Result<Self> {
        if capacity == 0 || capacity > crate::query::MAX_CAPACITY {
            return Err(Error::Shape(format!("capacity {capacity} is outside 1..={}", crate::query::MAX_CAPACITY)));
        }
        if !size.is_power_of_two() || size > crate::MAX_BATCH {
            return Err(Error::Shape(format!("chunk size {size} is not a power of two ≤ {}", crate::MAX_BATCH)));
        }
        if index.checked_mul(size).is_none_or(|start| start >= capacity) {
            return Err(Error::Shape(format!("chunk {index} of {size} starts beyond the {capacity} examples")));
        }
        if !(crate::query::MIN_QUERY_K..=crate::MAX_K).contains(&k) || (1usize << k) < crate::table::feature_rows(column_len(capacity)) + 64 {
            return Err(Error::Shape(format!("k = {k} cannot hold {capacity} examples")));
        }
        let most = Self::max_size(k);
        if size > most {
            return Err(Error::Shape(format!("a chunk of {size} examples needs more than the {MAX_CHUNK_COLUMNS} advice columns that k = {k} allows: at most {most} examples per chunk here")));
        }
        Ok(Self { size, index, capacity, k, lookup_bits: (k - 1) as usize })
    }

    /// The largest power-of-two chunk whose cells ([`CHUNK_FIXED_CELLS`] +
    /// [`CHUNK_CELLS_PER_EXAMPLE`] per example) fit [`MAX_CHUNK_COLUMNS`]
    /// columns of `2^k` rows (0 if none does).
    pub fn max_size(k: u32) -> usize {
        let room = (MAX_CHUNK_COLUMNS << k).saturating_sub(CHUNK_FIXED_CELLS) / CHUNK_CELLS_PER_EXAMPLE;
        if room == 0 { 0 } else { 1 << room.ilog2() }
    }

    /// The default chunk size at `k`: `2^k / 1024` examples (a chunk about
    /// as tall as the per-query circuit), within [`Self::max_size`].
    pub fn default_size(k: u32) -> usize {
        ((1usize << k) / 1024).clamp(1, Self::max_size(k).max(1))
    }

    /// First example of the chunk.
    pub fn start(&self) -> usize {
        self.index * self.size
    }

    /// Most real examples the chunk may hold: its size, or fewer where the
    /// table's capacity ends inside it.
    pub fn max_active(&self) -> usize {
        self.size.min(self.capacity - self.start())
    }

    /// Number of chunks covering `capacity` examples.
    pub fn count(size: usize, capacity: usize) -> usize {
        capacity.div_ceil(size)
    }
}

/// The public inputs of one chunk proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPublic {
    pub subtree_root: Fr,
    pub model_commitment: Fr,
    /// Real examples in the chunk (`1..=size`).
    pub active: u64,
    /// Contributor of the chunk's first example.
    pub first_contributor: Fr,
    /// Contributor of the example after the chunk (0 if none).
    pub next_contributor: Fr,
}

impl ChunkPublic {
    /// `[subtree_root, model_commitment, active, first_contributor, next_contributor]`.
    pub fn to_instances(&self) -> Vec<Fr> {
        vec![self.subtree_root, self.model_commitment, Fr::from(self.active), self.first_contributor, self.next_contributor]
    }

    /// Parse an instance column ([`CHUNK_INSTANCES`] values).
    pub fn from_instances(v: &[Fr]) -> Option<Self> {
        if v.len() != CHUNK_INSTANCES {
            return None;
        }
        Some(Self {
            subtree_root: v[0],
            model_commitment: v[1],
            active: fr_to_u128(&v[2]).and_then(|u| u64::try_from(u).ok())?,
            first_contributor: v[3],
            next_contributor: v[4],
        })
    }
}

/// The witness of one chunk proof.
#[derive(Clone, Debug)]
pub struct ChunkInput {
    pub model: QuantizedModel,
    /// The chunk's real examples (`1..=size`).
    pub examples: Vec<Contribution>,
    /// Contributor of the example after the chunk, if any.
    pub next: Option<alloy_primitives::Address>,
}

impl ChunkInput {
    /// Chunk `shape.index` of `datanet`.
    pub fn new(shape: &ChunkShape, model: &QuantizedModel, datanet: &Datanet) -> Result<Self> {
        let n = datanet.contributions.len();
        if n > shape.capacity {
            return Err(Error::Shape(format!("datanet has {n} examples, the table holds {}", shape.capacity)));
        }
        let (a, b) = (shape.start(), (shape.start() + shape.size).min(n));
        if a >= b {
            return Err(Error::Shape(format!("chunk {} has no examples", shape.index)));
        }
        Ok(Self {
            model: model.clone(),
            examples: datanet.contributions[a..b].to_vec(),
            next: datanet.contributions.get(b).map(|c| c.contributor),
        })
    }

    /// The public inputs this witness proves.
    pub fn public(&self, shape: &ChunkShape) -> Result<ChunkPublic> {
        let mut leaves = self.examples.iter().map(Contribution::leaf).collect::<lineage_core::Result<Vec<_>>>()?;
        leaves.resize(shape.size, Fr::zero());
        Ok(ChunkPublic {
            subtree_root: lineage_core::merkle::MerkleTree::new(&leaves).root(),
            model_commitment: self.model.commitment(),
            active: self.examples.len() as u64,
            first_contributor: fr_from_address(&self.examples[0].contributor),
            next_contributor: self.next.map(|a| fr_from_address(&a)).unwrap_or(Fr::zero()),
        })
    }

    /// A structurally valid witness used only at key generation.
    pub fn keygen_placeholder(shape: &ChunkShape) -> Self {
        let ex = Contribution {
            contributor: alloy_primitives::Address::with_last_byte(1),
            licence: "CC0-1.0".into(),
            payload: DigitPayload { label: 0, pixels: vec![0; 64] },
            index: None,
        };
        Self {
            model: QuantizedModel { w1: vec![0; 1024], b1: vec![0; 16], w2: vec![0; 160], b2: vec![0; 10] },
            examples: vec![ex; shape.max_active()],
            next: None,
        }
    }
}

/// Lay out the chunk in `builder`; `column` is the chunk's feature column
/// (the table's rows on the chunk, zero elsewhere).
pub fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, shape: &ChunkShape, column: &[Fr], input: &ChunkInput) -> Result<()> {
    if column.len() != column_len(shape.capacity) {
        return Err(Error::Shape(format!("feature column has {} values, the shape takes {}", column.len(), column_len(shape.capacity))));
    }
    if input.examples.is_empty() || input.examples.len() > shape.max_active() {
        return Err(Error::Shape(format!("{} examples in a chunk that holds {}", input.examples.len(), shape.max_active())));
    }
    let range = builder.range_chip();
    let gate = range.gate();
    let ctx = builder.main(0);
    let hasher = HashChip::new(ctx);
    let fwd = ForwardChip::new(&range);
    let factor = FactorChip::new(&range);
    let s2 = Fr::from((SCALE * SCALE) as u64);
    let m = shape.size;
    let count_bits = (usize::BITS - m.leading_zeros()) as usize + 1;

    let (model, model_commitment) = fwd.load_model(ctx, &hasher, &input.model);
    let weights = model.weights();
    let active = ctx.load_witness(Fr::from(input.examples.len() as u64));
    // examples past the table's capacity can never be active (their rows
    // would be the model's parameters or past the column)
    range.check_less_than_safe(ctx, active, shape.max_active() as u64 + 1);
    let active_is_zero = gate.is_zero(ctx, active);
    gate.assert_is_const(ctx, &active_is_zero, &Fr::zero());
    let next_contributor = ctx.load_witness(input.next.map(|a| fr_from_address(&a)).unwrap_or(Fr::zero()));
    range.range_check(ctx, next_contributor, ADDR_BITS);

    let padding = ChunkInput::keygen_placeholder(shape).examples[0].clone();
    let mut leaves = Vec::with_capacity(m);
    let mut rows: Vec<Vec<AssignedValue<Fr>>> = Vec::with_capacity(m);
    let mut addrs = Vec::with_capacity(m);
    let mut acts = Vec::with_capacity(m);
    let mut masks: Vec<Vec<AssignedValue<Fr>>> = Vec::with_capacity(m);
    for i in 0..m {
        let ex = input.examples.get(i).unwrap_or(&padding);
        let act = range.is_less_than(ctx, Constant(Fr::from(i as u64)), active, count_bits);
        let addr = ctx.load_witness(fr_from_address(&ex.contributor));
        range.range_check(ctx, addr, ADDR_BITS);
        // an active example's contributor is never address 0
        let addr_is_zero = gate.is_zero(ctx, addr);
        let bad = gate.mul(ctx, addr_is_zero, act);
        gate.assert_is_const(ctx, &bad, &Fr::zero());
        let licence = ctx.load_witness(licence_to_fr(&ex.licence).unwrap_or(Fr::zero()));
        let label = ctx.load_witness(Fr::from(ex.payload.label as u64));
        range.check_less_than_safe(ctx, label, OUTPUT as u64);
        let img = fwd.load_image(ctx, &ex.payload.pixels);
        let leaf = hasher.hash(ctx, &[addr, licence, label, img.packed[0], img.packed[1]]);
        leaves.push(gate.mul(ctx, leaf, act));

        let (fine, coarse) = fwd.hidden_fine(ctx, &weights, &img.pixels);
        let f = fwd.logits(ctx, &weights, &coarse);
        let onehot = gate.idx_to_indicator(ctx, label, OUTPUT);
        let mut row = Vec::with_capacity(WIDTH);
        let mut mask = Vec::with_capacity(HIDDEN);
        for hj in &fine {
            let h = gate.mul(ctx, *hj, act);
            let dead = gate.is_zero(ctx, h);
            mask.push(gate.not(ctx, dead));
            row.push(h);
        }
        for (k, fk) in f.iter().enumerate() {
            // r_k = [y = k]·S² − f_k
            let neg_f = gate.neg(ctx, *fk);
            let r = gate.mul_add(ctx, onehot[k], Constant(s2), neg_f);
            row.push(gate.mul(ctx, r, act));
        }
        // δ_j = m_j · ⌊(Σ_k W2_kj r_k + 2^15) / 2^16⌋
        for j in 0..HIDDEN {
            let r = &row[RESIDUAL_OFFSET..RESIDUAL_OFFSET + OUTPUT];
            let v = gate.inner_product(ctx, (0..OUTPUT).map(|k| Existing(model.w2[k * HIDDEN + j])), r.iter().map(|c| Existing(*c)));
            let v = gate.add(ctx, v, Constant(Fr::from(1u64 << 15)));
            let q = factor.div_floor(ctx, v, 1 << 16, DELTA_DIVIDEND_BITS);
            row.push(gate.mul(ctx, q, mask[j]));
        }
        for p in &img.pixels {
            row.push(gate.mul(ctx, *p, act));
        }
        row.push(gate.mul(ctx, addr, act));
        rows.push(row);
        masks.push(mask);
        addrs.push(addr);
        acts.push(act);
    }
    // end flags: e_i = act_i · [next_i ≠ a_i], next_i = act_{i+1}·a_{i+1}
    // inside the chunk and the public next contributor after it
    for i in 0..m {
        let next = if i + 1 < m { gate.mul(ctx, addrs[i + 1], acts[i + 1]) } else { next_contributor };
        let same = gate.is_equal(ctx, next, addrs[i]);
        let differs = gate.not(ctx, same);
        let e = gate.mul(ctx, differs, acts[i]);
        rows[i].push(e);
    }
    let subtree_root = hasher.subtree_root(ctx, &leaves);

    // the chunk's factor sums (kfac::Sums, over its active rows: inactive
    // rows are zero)
    let mut sums = vec![active];
    let column_of = |f: &dyn Fn(usize) -> AssignedValue<Fr>| -> Vec<AssignedValue<Fr>> { (0..m).map(f).collect() };
    let hs: Vec<_> = (0..HIDDEN).map(|j| column_of(&|e| rows[e][j])).collect();
    let ms: Vec<_> = (0..HIDDEN).map(|j| column_of(&|e| masks[e][j])).collect();
    let ps: Vec<_> = (0..INPUT).map(|a| column_of(&|e| rows[e][PIXEL_OFFSET + a])).collect();
    let ip = |ctx: &mut Context<Fr>, x: &[AssignedValue<Fr>], y: &[AssignedValue<Fr>]| gate.inner_product(ctx, x.iter().copied(), y.iter().map(|c| Existing(*c)));
    for (outer, linear) in [(&hs, true), (&ms, false)] {
        let d = outer.len();
        for i in 0..d {
            for j in i..d {
                sums.push(ip(ctx, &outer[i], &outer[j]));
            }
        }
        if linear {
            for x in outer.iter() {
                sums.push(gate.sum(ctx, x.iter().copied()));
            }
        }
    }
    sums.extend(pixel_gram(ctx, &range, &ps, m));
    for x in &ps {
        sums.push(gate.sum(ctx, x.iter().copied()));
    }
    debug_assert_eq!(sums.len(), SUMS_LEN);

    // bind the feature column: the chunk's rows to its features, the model
    // rows to the parameters (chunk 0), the sums to the chunk's sums, every
    // other row to zero
    let zero = ctx.load_zero();
    let base = WIDTH * shape.start();
    let params_at = WIDTH * shape.capacity;
    let sums_at = sums_offset(shape.capacity);
    let window_end = (base + WIDTH * m).min(params_at);
    for idx in 0..column_len(shape.capacity) {
        let cell = feature_value(column, idx);
        if (base..window_end).contains(&idx) {
            let (i, j) = ((idx - base) / WIDTH, (idx - base) % WIDTH);
            ctx.constrain_equal(&rows[i][j], &cell);
        } else if idx >= sums_at {
            ctx.constrain_equal(&sums[idx - sums_at], &cell);
        } else if idx >= params_at && shape.index == 0 {
            ctx.constrain_equal(&model.params[idx - params_at], &cell);
        } else {
            ctx.constrain_equal(&zero, &cell);
        }
    }

    let instances = [subtree_root, model_commitment, active, addrs[0], next_contributor];
    builder.assigned_instances[0].extend(instances);
    Ok(())
}

/// `Σ_e p_a(e)·p_b(e)` for `a ≤ b < 64` (row-major upper triangle) over
/// the chunk's `m` examples, with the pixels of each example packed into
/// words of `L` slots of `W` bits (`W` holds `16²·m`, `L·W ≤ 250`):
///
/// ```text
///  P_g(e)  = Σ_{b ∈ group g} p_b(e) · 2^(W·(b − g·L))         (per example, per group of L)
///  S_{a,g} = Σ_e p_a(e) · P_g(e) = Σ_slot s_slot · 2^(W·slot)  (one inner product of m terms)
///  s_slot  witnessed, each range-checked to W bits, recomposed into S_{a,g}
/// ```
///
/// Each true slot sum is below `2^W` and the recomposition below
/// `2^250 < r`, so the limbs are exactly the sums `Σ_e p_a p_b` (no carry,
/// no wrap). About 1,000 cells per example against about 6,000 for one
/// inner product per pair.
fn pixel_gram(ctx: &mut Context<Fr>, range: &halo2_base::gates::RangeChip<Fr>, ps: &[Vec<AssignedValue<Fr>>], m: usize) -> Vec<AssignedValue<Fr>> {
    let gate = range.gate();
    let w = (usize::BITS - (256 * m).leading_zeros()) as usize; // 256·m < 2^w
    let l = (250 / w).min(INPUT);
    let groups = INPUT.div_ceil(l);
    let pow = |bits: usize| halo2_base::utils::biguint_to_fe::<Fr>(&(num_bigint::BigUint::from(1u8) << bits));
    let packed: Vec<Vec<AssignedValue<Fr>>> = (0..groups)
        .map(|g| {
            let bs = g * l..((g + 1) * l).min(INPUT);
            (0..m).map(|e| gate.inner_product(ctx, bs.clone().map(|b| ps[b][e]), bs.clone().map(|b| Constant(pow(w * (b - g * l)))))).collect()
        })
        .collect();
    let mut gram = vec![None; lineage_core::kfac::triangle(INPUT)];
    for a in 0..INPUT {
        for (g, word) in packed.iter().enumerate() {
            let bs = g * l..((g + 1) * l).min(INPUT);
            if bs.end <= a {
                continue;
            }
            let s = gate.inner_product(ctx, ps[a].iter().copied(), word.iter().map(|c| Existing(*c)));
            // the slots: witnessed from the packed sum's value, range-checked, recomposed
            let value = num_bigint::BigUint::from_bytes_le(s.value().to_bytes().as_ref());
            let limbs: Vec<_> = bs
                .clone()
                .map(|b| {
                    let limb = (&value >> (w * (b - g * l))) & ((num_bigint::BigUint::from(1u8) << w) - 1u8);
                    let c = ctx.load_witness(halo2_base::utils::biguint_to_fe(&limb));
                    range.range_check(ctx, c, w);
                    c
                })
                .collect();
            let back = gate.inner_product(ctx, limbs.iter().copied(), bs.clone().map(|b| Constant(pow(w * (b - g * l)))));
            ctx.constrain_equal(&back, &s);
            for (b, limb) in bs.zip(limbs) {
                if b >= a {
                    gram[lineage_core::kfac::tri(a, b, INPUT)] = Some(limb);
                }
            }
        }
    }
    gram.into_iter().map(|c| c.expect("every pair a ≤ b has its slot")).collect()
}

/// The chunk's share of the feature column: the table's rows on the chunk
/// and their sums (and the model's parameters for chunk 0), zero elsewhere.
pub fn chunk_column(shape: &ChunkShape, table: &lineage_core::features::FeatureTable) -> Result<Vec<Fr>> {
    Ok(table.column_of(shape.capacity, shape.start()..shape.start() + shape.size, shape.index == 0)?)
}

/// Build chunk `shape.index` for `stage`.
pub fn build(
    stage: CircuitBuilderStage,
    shape: &ChunkShape,
    column: Vec<Fr>,
    input: &ChunkInput,
    prover_config: Option<crate::stage::ProverConfig>,
) -> Result<TableCircuit> {
    let (builder, ()) = build_stage(stage, shape.k, shape.lookup_bits, prover_config, |b| synthesize(b, shape, &column, input))?;
    Ok(TableCircuit { builder, column, k: shape.k })
}

/// The key-generation circuit of a chunk whose share of the feature column
/// is `column`.
pub fn keygen_circuit(shape: &ChunkShape, column: Vec<Fr>) -> Result<TableCircuit> {
    build(CircuitBuilderStage::Keygen, shape, column, &ChunkInput::keygen_placeholder(shape), None)
}
