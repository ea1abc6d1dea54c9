//! The forward-pass stage: model parameters and their commitment, image
//! commitments, the fixed-point MLP and the argmax.

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    AssignedValue, Context, QuantumCell,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    datanet::QUERY_TAG,
    field::Fr,
    fixed::{ACC_OFFSET_BITS, FRAC_BITS, LOGIT_BITS, PIXEL_BITS, SCALE},
    model::{QuantizedModel, HIDDEN, INPUT, MODEL_TAG, OUTPUT, PARAMS_PER_WORD},
};
use lineage_gadgets::{
    fixed::{FixedPointChip, FixedPointInstructions},
    hash::HashChip,
};

/// A model loaded into the circuit.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    /// Every signed parameter, in `QuantizedModel::params` order.
    pub params: Vec<AssignedValue<Fr>>,
    /// Signed layer-1 weights, row-major `[HIDDEN][INPUT]`.
    pub w1: Vec<AssignedValue<Fr>>,
    /// Layer-1 biases at scale 2^16.
    pub b1: Vec<AssignedValue<Fr>>,
    /// Signed layer-2 weights, row-major `[OUTPUT][HIDDEN]`.
    pub w2: Vec<AssignedValue<Fr>>,
    /// Layer-2 biases at scale 2^16.
    pub b2: Vec<AssignedValue<Fr>>,
}

/// The weights a forward pass reads: cells bound elsewhere (a hashed model,
/// the feature table) or constants that the proving key fixes.
#[derive(Clone, Debug)]
pub struct LayerWeights {
    /// Signed layer-1 weights, row-major `[HIDDEN][INPUT]`.
    pub w1: Vec<QuantumCell<Fr>>,
    /// Layer-1 biases at scale 2^16.
    pub b1: Vec<QuantumCell<Fr>>,
    /// Signed layer-2 weights, row-major `[OUTPUT][HIDDEN]`.
    pub w2: Vec<QuantumCell<Fr>>,
    /// Layer-2 biases at scale 2^16.
    pub b2: Vec<QuantumCell<Fr>>,
}

impl LoadedModel {
    /// The loaded parameters as the forward pass reads them.
    pub fn weights(&self) -> LayerWeights {
        let cells = |v: &[AssignedValue<Fr>]| v.iter().map(|c| Existing(*c)).collect();
        LayerWeights { w1: cells(&self.w1), b1: cells(&self.b1), w2: cells(&self.w2), b2: cells(&self.b2) }
    }
}

impl LayerWeights {
    /// `model`'s parameters as constants (biases pre-scaled): fixed by the
    /// proving key, like EZKL's "fixed" parameters, and no cells to witness.
    pub fn constants(model: &QuantizedModel) -> Self {
        let q: Vec<Fr> = model.params().map(|q| lineage_core::field::fr_from_i128(q as i128)).collect();
        let (w1, rest) = q.split_at(HIDDEN * INPUT);
        let (b1, rest) = rest.split_at(HIDDEN);
        let (w2, b2) = rest.split_at(OUTPUT * HIDDEN);
        let scale = Fr::from(SCALE as u64);
        let c = |v: &[Fr], f: Fr| v.iter().map(|x| Constant(*x * f)).collect();
        LayerWeights { w1: c(w1, Fr::one()), b1: c(b1, scale), w2: c(w2, Fr::one()), b2: c(b2, scale) }
    }
}

/// A loaded image: its pixels and its two packed words.
#[derive(Clone, Debug)]
pub struct LoadedImage {
    pub pixels: Vec<AssignedValue<Fr>>,
    pub packed: [AssignedValue<Fr>; 2],
}

/// The query's forward pass.
#[derive(Clone, Debug)]
pub struct QueryForward {
    /// `poseidon(QUERY_TAG, packed pixels)`.
    pub commitment: AssignedValue<Fr>,
    /// The query's pixels (range-checked, hashed into the commitment).
    pub pixels: Vec<AssignedValue<Fr>>,
    pub hidden: Vec<AssignedValue<Fr>>,
    pub logits: Vec<AssignedValue<Fr>>,
    /// The fine hidden activations `h̃` (ReLU'd accumulators, scale 2^16;
    /// `lineage_core::kfac::hidden_fine`), when asked for.
    pub fine: Vec<AssignedValue<Fr>>,
    /// The predicted class (argmax, ties to the lowest index).
    pub class: AssignedValue<Fr>,
    /// One-hot indicator of `class`.
    pub indicator: Vec<AssignedValue<Fr>>,
}

/// Instructions of the forward-pass stage.
pub trait ForwardInstructions {
    /// Witness every parameter (16 signed bits each) and hash them into the
    /// model commitment (`QuantizedModel::commitment`), returned second.
    fn load_model(&self, ctx: &mut Context<Fr>, hasher: &HashChip, model: &QuantizedModel) -> (LoadedModel, AssignedValue<Fr>);
    /// A model from signed parameter cells already bound elsewhere (in
    /// `QuantizedModel::params` order; no range checks, no commitment).
    fn model_from_params(&self, ctx: &mut Context<Fr>, params: Vec<AssignedValue<Fr>>) -> LoadedModel;
    /// Witness an image (pixels `0..=16`) and pack it into two words.
    fn load_image(&self, ctx: &mut Context<Fr>, pixels: &[u8]) -> LoadedImage;
    /// Hidden activations (scale 2^8) of loaded pixels.
    fn hidden(&self, ctx: &mut Context<Fr>, m: &LayerWeights, px: &[AssignedValue<Fr>]) -> Vec<AssignedValue<Fr>>;
    /// Fine hidden activations `h̃ = relu(acc)` (scale 2^16) and the hidden
    /// activations `rescale(h̃)` (scale 2^8, equal to [`Self::hidden`]'s).
    fn hidden_fine(&self, ctx: &mut Context<Fr>, m: &LayerWeights, px: &[AssignedValue<Fr>]) -> (Vec<AssignedValue<Fr>>, Vec<AssignedValue<Fr>>);
    /// Logits (scale 2^16) of hidden activations.
    fn logits(&self, ctx: &mut Context<Fr>, m: &LayerWeights, h: &[AssignedValue<Fr>]) -> Vec<AssignedValue<Fr>>;
    /// Witness `predicted`, constrain it to be the argmax of `logits` (ties
    /// to the lowest index) and return it with its one-hot indicator.
    fn classify(&self, ctx: &mut Context<Fr>, logits: &[AssignedValue<Fr>], predicted: usize) -> (AssignedValue<Fr>, Vec<AssignedValue<Fr>>);
    /// The query: commitment, forward pass and predicted class, and the fine
    /// hidden activations if `fine` (empty otherwise).
    fn query(&self, ctx: &mut Context<Fr>, hasher: &HashChip, m: &LoadedModel, pixels: &[u8], predicted: usize, fine: bool) -> QueryForward;
}

/// The forward-pass chip.
pub struct ForwardChip<'a> {
    pub range: &'a RangeChip<Fr>,
    pub fp: FixedPointChip<'a>,
}

impl<'a> ForwardChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range, fp: FixedPointChip::new(range) }
    }

    /// The first layer's accumulators `b1·2^8 + Σ w·pixel` (scale 2^16).
    fn accumulators(&self, ctx: &mut Context<Fr>, m: &LayerWeights, px: &[AssignedValue<Fr>]) -> Vec<AssignedValue<Fr>> {
        let gate = self.range.gate();
        // pixel p means p/16, i.e. p·2^(F−4) at scale 2^F
        let pixel_scale = Fr::from(1u64 << (FRAC_BITS - 4));
        (0..HIDDEN)
            .map(|j| {
                let row = &m.w1[j * INPUT..(j + 1) * INPUT];
                let ip = gate.inner_product(ctx, row.iter().copied(), px.iter().map(|c| Existing(*c)));
                gate.mul_add(ctx, ip, Constant(pixel_scale), m.b1[j])
            })
            .collect()
    }
}

impl ForwardInstructions for ForwardChip<'_> {
    fn load_model(&self, ctx: &mut Context<Fr>, hasher: &HashChip, model: &QuantizedModel) -> (LoadedModel, AssignedValue<Fr>) {
        let params: Vec<_> = model.params().map(|q| self.fp.load_param(ctx, q)).collect();
        let mut words = vec![ctx.load_constant(Fr::from(MODEL_TAG))];
        for chunk in params.chunks(PARAMS_PER_WORD) {
            let limbs: Vec<_> = chunk.iter().map(|p| p.word).collect();
            words.push(self.fp.pack(ctx, &limbs, 16));
        }
        let commitment = hasher.hash(ctx, &words);
        (self.model_from_params(ctx, params.iter().map(|p| p.signed).collect()), commitment)
    }

    fn model_from_params(&self, ctx: &mut Context<Fr>, signed: Vec<AssignedValue<Fr>>) -> LoadedModel {
        let gate = self.range.gate();
        let (w1, rest) = signed.split_at(HIDDEN * INPUT);
        let (b1, rest) = rest.split_at(HIDDEN);
        let (w2, b2) = rest.split_at(OUTPUT * HIDDEN);
        let scale = Constant(Fr::from(SCALE as u64));
        let b1 = b1.iter().map(|b| gate.mul(ctx, *b, scale)).collect();
        let b2 = b2.iter().map(|b| gate.mul(ctx, *b, scale)).collect();
        LoadedModel { w1: w1.to_vec(), b1, w2: w2.to_vec(), b2, params: signed }
    }

    fn load_image(&self, ctx: &mut Context<Fr>, pixels: &[u8]) -> LoadedImage {
        let px = self.fp.load_pixels(ctx, pixels);
        let p0 = self.fp.pack(ctx, &px[..32], PIXEL_BITS as usize);
        let p1 = self.fp.pack(ctx, &px[32..], PIXEL_BITS as usize);
        LoadedImage { pixels: px, packed: [p0, p1] }
    }

    fn hidden(&self, ctx: &mut Context<Fr>, m: &LayerWeights, px: &[AssignedValue<Fr>]) -> Vec<AssignedValue<Fr>> {
        self.accumulators(ctx, m, px).into_iter().map(|acc| self.fp.rescale_relu(ctx, acc)).collect()
    }

    fn hidden_fine(&self, ctx: &mut Context<Fr>, m: &LayerWeights, px: &[AssignedValue<Fr>]) -> (Vec<AssignedValue<Fr>>, Vec<AssignedValue<Fr>>) {
        // relu(rescale(acc)) = rescale(relu(acc)): a negative accumulator rescales to at most 0
        let fine: Vec<_> = self.accumulators(ctx, m, px).into_iter().map(|acc| self.fp.positive_part(ctx, acc, ACC_OFFSET_BITS as usize)).collect();
        let coarse = fine.iter().map(|h| self.fp.rescale_relu(ctx, *h)).collect();
        (fine, coarse)
    }

    fn logits(&self, ctx: &mut Context<Fr>, m: &LayerWeights, h: &[AssignedValue<Fr>]) -> Vec<AssignedValue<Fr>> {
        let gate = self.range.gate();
        (0..OUTPUT)
            .map(|k| {
                let ip = gate.inner_product(ctx, m.w2[k * HIDDEN..(k + 1) * HIDDEN].iter().copied(), h.iter().map(|c| Existing(*c)));
                gate.add(ctx, ip, m.b2[k])
            })
            .collect()
    }

    fn classify(&self, ctx: &mut Context<Fr>, logits: &[AssignedValue<Fr>], predicted: usize) -> (AssignedValue<Fr>, Vec<AssignedValue<Fr>>) {
        let gate = self.range.gate();
        let class = ctx.load_witness(Fr::from(predicted as u64));
        self.range.check_less_than_safe(ctx, class, OUTPUT as u64);
        let indicator = gate.idx_to_indicator(ctx, class, OUTPUT);
        let fc = gate.select_by_indicator(ctx, logits.iter().copied(), indicator.iter().copied());
        for (k, fk) in logits.iter().enumerate() {
            // d = f_c − f_k − [k < c] must be ≥ 0
            let below = self.range.is_less_than(ctx, Constant(Fr::from(k as u64)), class, 4);
            let diff = gate.sub(ctx, fc, *fk);
            let d = gate.sub(ctx, diff, below);
            self.range.range_check(ctx, d, LOGIT_BITS as usize);
        }
        (class, indicator)
    }

    fn query(&self, ctx: &mut Context<Fr>, hasher: &HashChip, m: &LoadedModel, pixels: &[u8], predicted: usize, want_fine: bool) -> QueryForward {
        let img = self.load_image(ctx, pixels);
        let tag = ctx.load_constant(Fr::from(QUERY_TAG));
        let commitment = hasher.hash(ctx, &[tag, img.packed[0], img.packed[1]]);
        let w = m.weights();
        let (fine, hidden) = if want_fine { self.hidden_fine(ctx, &w, &img.pixels) } else { (vec![], self.hidden(ctx, &w, &img.pixels)) };
        let logits = self.logits(ctx, &w, &hidden);
        let (class, indicator) = self.classify(ctx, &logits, predicted);
        QueryForward { commitment, pixels: img.pixels, hidden, logits, fine, class, indicator }
    }
}
