//! Synthesis of the attribution circuit.

use crate::{input::CircuitShape, AttributionInput, Result};
use halo2_base::{
    gates::{
        circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage},
        GateInstructions, RangeInstructions,
    },
    utils::biguint_to_fe,
    AssignedValue,
    QuantumCell::Constant,
};
use crate::chips::forward::{ForwardChip, ForwardInstructions};
use lineage_core::{
    datanet::licence_to_fr,
    field::{fr_from_address, fr_from_u128, Fr},
    fixed::{POOL_BITS, SCALE, TOTAL_BITS},
    model::{HIDDEN, OUTPUT},
    payout::PAYOUT_TAG,
};
use lineage_gadgets::{
    fixed::{FixedPointChip, FixedPointInstructions},
    hash::HashChip,
};
use num_bigint::BigUint;

/// Cells of interest, returned for tests and diagnostics.
#[derive(Clone, Debug)]
pub struct Handles {
    /// First layer-1 weight (signed value cell).
    pub first_weight: AssignedValue<Fr>,
    /// First pixel of the first training example.
    pub first_example_pixel: AssignedValue<Fr>,
    /// Influence score of every example.
    pub scores: Vec<AssignedValue<Fr>>,
    /// Share of every payout slot.
    pub shares: Vec<AssignedValue<Fr>>,
    /// The public instance cells, in instance order.
    pub instances: Vec<AssignedValue<Fr>>,
}

/// Bits of an address.
const ADDR_BITS: usize = 160;

/// Lay out the whole circuit in `builder` (main thread of phase 0) and
/// register its public instances.
pub fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, shape: &CircuitShape, input: &AttributionInput) -> Result<Handles> {
    if input.examples.len() != shape.batch || input.path.len() != shape.path_len() {
        return Err(crate::Error::Shape(format!(
            "{} examples / {} path nodes, circuit takes {} / {}",
            input.examples.len(),
            input.path.len(),
            shape.batch,
            shape.path_len()
        )));
    }
    let range = builder.range_chip();
    let gate = range.gate();
    let fp = FixedPointChip::new(&range);
    let ctx = builder.main(0);
    let hasher = HashChip::new(ctx);
    let fwd = ForwardChip::new(&range);
    let s2 = Fr::from((SCALE * SCALE) as u64);

    // ---- 1–3. model commitment, query commitment, forward pass, argmax ------
    let (model, model_commitment) = fwd.load_model(ctx, &hasher, &input.model);
    let q = fwd.query(ctx, &hasher, &model, &input.query, input.predicted, false);
    let weights = model.weights();
    let (query_commitment, hq, class, indicator) = (q.commitment, q.hidden, q.class, q.indicator);
    // last-layer row of the predicted class
    let w2c: Vec<_> = (0..HIDDEN)
        .map(|j| gate.select_by_indicator(ctx, (0..OUTPUT).map(|k| model.w2[k * HIDDEN + j]), indicator.iter().copied()))
        .collect();
    let b2c = gate.select_by_indicator(ctx, model.b2.iter().copied(), indicator.iter().copied());

    // ---- 4 & 5. examples: leaves, scores ------------------------------------
    let mut leaves = Vec::with_capacity(shape.batch);
    let mut addrs = Vec::with_capacity(shape.batch);
    let mut scores = Vec::with_capacity(shape.batch);
    let mut first_example_pixel = None;
    for ex in &input.examples {
        let addr = ctx.load_witness(fr_from_address(&ex.contributor));
        range.range_check(ctx, addr, ADDR_BITS);
        // address 0 is nobody: it can never own an example (nor be paid)
        let addr_is_zero = gate.is_zero(ctx, addr);
        gate.assert_is_const(ctx, &addr_is_zero, &Fr::zero());
        let licence = ctx.load_witness(licence_to_fr(&ex.licence).unwrap_or(Fr::zero()));
        let label = ctx.load_witness(Fr::from(ex.payload.label as u64));
        range.check_less_than_safe(ctx, label, OUTPUT as u64);
        let img = fwd.load_image(ctx, &ex.payload.pixels);
        first_example_pixel.get_or_insert(img.pixels[0]);
        leaves.push(hasher.hash(ctx, &[addr, licence, label, img.packed[0], img.packed[1]]));

        let hz = fwd.hidden(ctx, &weights, &img.pixels);
        let ip = gate.inner_product(ctx, w2c.iter().copied(), hz.iter().map(|c| halo2_base::QuantumCell::Existing(*c)));
        let fcz = gate.add(ctx, ip, b2c);
        let is_c = gate.is_equal(ctx, label, class);
        // coeff = [y = c]·S² − f_c(z)
        let target = gate.mul(ctx, is_c, Constant(s2));
        let coeff = gate.sub(ctx, target, fcz);
        // dot = ⟨h_q, h_z⟩ + S²
        let ip = gate.inner_product(ctx, hq.iter().copied(), hz.iter().map(|c| halo2_base::QuantumCell::Existing(*c)));
        let dot = gate.add(ctx, ip, Constant(s2));
        let score = gate.mul(ctx, coeff, dot);
        scores.push(score);
        addrs.push(addr);
    }

    // ---- 4. Merkle window membership ----------------------------------------
    let sub_root = hasher.subtree_root(ctx, &leaves);
    let window = ctx.load_witness(Fr::from(input.window_index));
    let bits = gate.num_to_bits(ctx, window, shape.path_len());
    let path = ctx.assign_witnesses(input.path.iter().copied());
    let datanet_root = hasher.climb(ctx, sub_root, &bits, &path);

    // ---- 6. payout slots, totals and split -----------------------------------
    let slot_addrs = ctx.assign_witnesses(input.slot_addresses(shape.slots));
    let mut slot_nonzero = Vec::with_capacity(shape.slots);
    for a in &slot_addrs {
        range.range_check(ctx, *a, ADDR_BITS);
        let z = gate.is_zero(ctx, *a);
        slot_nonzero.push(gate.not(ctx, z));
    }
    for s in 0..shape.slots.saturating_sub(1) {
        // nonzero(s+1) ⇒ addr(s) < addr(s+1); zero(s) ⇒ zero(s+1)
        let lt = range.is_less_than(ctx, slot_addrs[s], slot_addrs[s + 1], ADDR_BITS + 1);
        let not_lt = gate.not(ctx, lt);
        let bad = gate.mul(ctx, slot_nonzero[s + 1], not_lt);
        gate.assert_is_const(ctx, &bad, &Fr::zero());
        let zero_s = gate.not(ctx, slot_nonzero[s]);
        let bad = gate.mul(ctx, zero_s, slot_nonzero[s + 1]);
        gate.assert_is_const(ctx, &bad, &Fr::zero());
    }
    // membership matrix
    let eq: Vec<Vec<AssignedValue<Fr>>> =
        addrs.iter().map(|a| slot_addrs.iter().map(|s| gate.is_equal(ctx, *a, *s)).collect()).collect();
    for row in &eq {
        let n = gate.sum(ctx, row.iter().copied());
        gate.assert_is_const(ctx, &n, &Fr::one());
    }
    let mut totals = Vec::with_capacity(shape.slots);
    for s in 0..shape.slots {
        let col: Vec<_> = eq.iter().map(|row| row[s]).collect();
        let count = gate.sum(ctx, col.iter().copied());
        let unused = gate.is_zero(ctx, count);
        let bad = gate.mul(ctx, unused, slot_nonzero[s]);
        gate.assert_is_const(ctx, &bad, &Fr::zero());
        // the slot's net influence, clamped at zero (|net| < 2^TOTAL_BITS)
        let net = gate.inner_product(ctx, col.iter().copied(), scores.iter().map(|c| halo2_base::QuantumCell::Existing(*c)));
        totals.push(fp.positive_part(ctx, net, TOTAL_BITS as usize));
    }
    let pool = ctx.load_witness(fr_from_u128(input.pool));
    range.range_check(ctx, pool, POOL_BITS as usize);
    let total = gate.sum(ctx, totals.iter().copied());
    range.range_check(ctx, total, TOTAL_BITS as usize);
    // witness quotients natively
    let total_native: BigUint = input.totals.iter().map(|(_, t)| BigUint::from(*t)).sum();
    let mut cum_native = BigUint::from(0u8);
    let mut cum = ctx.load_zero();
    let mut prev_q = ctx.load_zero();
    let mut shares = Vec::with_capacity(shape.slots);
    for (s, slot_total) in totals.iter().enumerate() {
        if let Some((_, t)) = input.totals.get(s) {
            cum_native += BigUint::from(*t);
        }
        let num_native = BigUint::from(input.pool) * &cum_native;
        let (q_native, r_native) = if total_native == BigUint::from(0u8) {
            (BigUint::from(0u8), BigUint::from(0u8))
        } else {
            (&num_native / &total_native, &num_native % &total_native)
        };
        cum = gate.add(ctx, cum, *slot_total);
        let num = gate.mul(ctx, pool, cum);
        let q = ctx.load_witness(biguint_to_fe(&q_native));
        let r = ctx.load_witness(biguint_to_fe(&r_native));
        range.range_check(ctx, q, POOL_BITS as usize);
        range.range_check(ctx, r, TOTAL_BITS as usize);
        range.check_less_than(ctx, r, total, TOTAL_BITS as usize);
        let recombined = gate.mul_add(ctx, q, total, r);
        ctx.constrain_equal(&recombined, &num);
        shares.push(gate.sub(ctx, q, prev_q));
        prev_q = q;
    }
    let mut payout_inputs = vec![ctx.load_constant(Fr::from(PAYOUT_TAG)), pool];
    for (a, sh) in slot_addrs.iter().zip(&shares) {
        payout_inputs.extend([*a, *sh]);
    }
    let payout_commitment = hasher.hash(ctx, &payout_inputs);

    let instances = vec![datanet_root, model_commitment, query_commitment, class, payout_commitment, window];
    builder.assigned_instances[0].extend(instances.iter().copied());
    Ok(Handles {
        first_weight: model.w1[0],
        first_example_pixel: first_example_pixel.expect("batch ≥ 2"),
        scores,
        shares,
        instances,
    })
}

/// Build a circuit for `stage`. Keygen and mock stages compute the circuit's
/// parameters; the prover stage needs the parameters and break points
/// recorded at key generation.
/// The key-generation circuit of `shape` (a placeholder witness): what
/// halo2's `keygen_vk` and `keygen_pk` take.
pub fn keygen_circuit(shape: &CircuitShape) -> Result<BaseCircuitBuilder<Fr>> {
    let placeholder = AttributionInput::keygen_placeholder(shape);
    Ok(build_circuit(CircuitBuilderStage::Keygen, shape, &placeholder, None)?.0)
}

pub fn build_circuit(
    stage: CircuitBuilderStage,
    shape: &CircuitShape,
    input: &AttributionInput,
    prover_config: Option<crate::stage::ProverConfig>,
) -> Result<(BaseCircuitBuilder<Fr>, Handles)> {
    crate::stage::build_stage(stage, shape.k, shape.lookup_bits, prover_config, |b| synthesize(b, shape, input))
}
