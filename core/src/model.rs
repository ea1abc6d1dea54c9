//! The quantised 64-16-10 MLP and its Poseidon commitment.
//!
//! Parameters are stored in the fixed-point format of [`crate::fixed`]
//! (scale 2^8, signed 16 bits). Commitment: the parameters in the order
//! `w1` (16×64, row-major: `w1[j·64 + i]` is input `i` → hidden `j`), `b1`
//! (16), `w2` (10×16, row-major), `b2` (10) are offset by `2^15` to
//! unsigned 16-bit words, packed 15 to a field element little-endian
//! (`Σ_k u_k · 2^(16k)`), and hashed as `poseidon(MODEL_TAG, packed…)`.

use crate::{field::Fr, fixed, poseidon, Error, Result};
use serde::{Deserialize, Serialize};

/// Input width.
pub const INPUT: usize = 64;
/// Hidden width.
pub const HIDDEN: usize = 16;
/// Output classes.
pub const OUTPUT: usize = 10;
/// Number of parameters.
pub const NUM_PARAMS: usize = HIDDEN * INPUT + HIDDEN + OUTPUT * HIDDEN + OUTPUT;
/// Parameters packed per field element.
pub const PARAMS_PER_WORD: usize = 15;
/// Domain tag of model commitments.
pub const MODEL_TAG: u64 = 0x4d4f_444c; // "MODL"
/// Model file format tag and version.
pub const FORMAT: &str = "lineage-model";
pub const VERSION: u32 = 1;

/// A quantised model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizedModel {
    pub w1: Vec<i32>,
    pub b1: Vec<i32>,
    pub w2: Vec<i32>,
    pub b2: Vec<i32>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    frac_bits: u32,
    model: QuantizedModel,
}

impl QuantizedModel {
    /// Check shapes and the 16-bit parameter range.
    pub fn validate(&self) -> Result<()> {
        let shapes = [
            ("w1", self.w1.len(), HIDDEN * INPUT),
            ("b1", self.b1.len(), HIDDEN),
            ("w2", self.w2.len(), OUTPUT * HIDDEN),
            ("b2", self.b2.len(), OUTPUT),
        ];
        for (name, found, want) in shapes {
            if found != want {
                return Err(Error::ModelShape(format!("{name} has {found} values, expected {want}")));
            }
        }
        if let Some(v) = self.params().find(|v| (*v as i64) < fixed::PARAM_MIN || (*v as i64) > fixed::PARAM_MAX) {
            return Err(Error::FixedPointRange {
                what: "model parameter",
                value: v as f64,
                min: fixed::PARAM_MIN,
                max: fixed::PARAM_MAX,
            });
        }
        Ok(())
    }

    /// All parameters in commitment order.
    pub fn params(&self) -> impl Iterator<Item = i32> + '_ {
        self.w1.iter().chain(&self.b1).chain(&self.w2).chain(&self.b2).copied()
    }

    /// Packed commitment words.
    pub fn packed_words(&self) -> Vec<Fr> {
        let params: Vec<i32> = self.params().collect();
        params
            .chunks(PARAMS_PER_WORD)
            .map(|chunk| {
                let mut word = Fr::from(0);
                let mut base = Fr::from(1);
                for v in chunk {
                    word += base * Fr::from((*v as i64 - fixed::PARAM_MIN) as u64);
                    base *= Fr::from(1u64 << 16);
                }
                word
            })
            .collect()
    }

    /// The model commitment.
    pub fn commitment(&self) -> Fr {
        let mut inputs = vec![Fr::from(MODEL_TAG)];
        inputs.extend(self.packed_words());
        poseidon::hash(&inputs)
    }

    /// Serialise to the versioned model file.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            frac_bits: fixed::FRAC_BITS,
            model: self.clone(),
        })
        .expect("model serialises")
    }

    /// Parse a versioned model file.
    pub fn from_json(text: &str) -> Result<Self> {
        let f: ModelFile = serde_json::from_str(text)?;
        if f.format != FORMAT {
            return Err(Error::ModelShape(format!("format is {:?}, expected {FORMAT:?}", f.format)));
        }
        if f.version != VERSION {
            return Err(Error::Version { what: "model", found: f.version, expected: VERSION });
        }
        if f.frac_bits != fixed::FRAC_BITS {
            return Err(Error::ModelShape(format!("frac_bits {} != {}", f.frac_bits, fixed::FRAC_BITS)));
        }
        f.model.validate()?;
        Ok(f.model)
    }
}
