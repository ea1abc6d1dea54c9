//! Precompiles of the Lineage chain: Ethereum's (Prague) plus Lineage's
//! system contracts, native and stateful, each with a Solidity ABI:
//!
//! | address | module | contracts |
//! |---|---|---|
//! | `0x…4c4e0001` | [`attribution`] ([`whole`], [`settlement`]) | keys, requests, claims: AttributionSettlement |
//! | `0x…4c4e0002` | [`registry`] | DatanetRegistry, ModelRegistry |
//! | `0x…4c4e0003` | [`staking`] | AgentStaking |
//! | `0x…4c4e0004` | [`governance`] | Governance |

pub mod attribution;
pub mod governance;
mod native;
pub mod registry;
pub mod settlement;
pub mod staking;
pub mod whole;

/// The addresses of Lineage's own precompiles.
pub const SYSTEM_ADDRESSES: [Address; 4] = [attribution::ADDRESS, registry::ADDRESS, staking::ADDRESS, governance::ADDRESS];

use attribution::AttributionPrecompile;
use revm::{
    context::Cfg,
    context_interface::ContextTr,
    handler::{EthPrecompiles, PrecompileProvider},
    interpreter::{CallInputs, InterpreterResult},
    primitives::{hardfork::SpecId, Address, AddressSet},
};
use std::sync::Arc;

/// Ethereum's precompiles plus [`attribution::ADDRESS`].
#[derive(Clone)]
pub struct LineagePrecompiles {
    eth: EthPrecompiles,
    warm: AddressSet,
    attribution: Arc<AttributionPrecompile>,
}

impl LineagePrecompiles {
    pub fn new(spec: SpecId, attribution: Arc<AttributionPrecompile>) -> Self {
        let eth = EthPrecompiles::new(spec);
        let mut warm = AddressSet::default();
        warm.clone_from(eth.warm_addresses());
        warm.extend(SYSTEM_ADDRESSES);
        Self { eth, warm, attribution }
    }

    /// Whether `address` is a precompile on this chain (Prague's or ours).
    pub fn is_precompile(address: &Address) -> bool {
        SYSTEM_ADDRESSES.contains(address) || EthPrecompiles::new(SpecId::PRAGUE).warm_addresses().contains(address)
    }
}

impl<CTX> PrecompileProvider<CTX> for LineagePrecompiles
where
    CTX: ContextTr<Cfg: Cfg<Spec = SpecId>>,
{
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: <CTX::Cfg as Cfg>::Spec) -> bool {
        let changed = <EthPrecompiles as PrecompileProvider<CTX>>::set_spec(&mut self.eth, spec);
        self.warm.clone_from(self.eth.warm_addresses());
        self.warm.extend(SYSTEM_ADDRESSES);
        changed
    }

    fn run(&mut self, context: &mut CTX, inputs: &CallInputs) -> Result<Option<Self::Output>, String> {
        if inputs.bytecode_address == attribution::ADDRESS {
            return self.attribution.run(context, inputs).map(Some);
        }
        if inputs.bytecode_address == registry::ADDRESS {
            return registry::RegistryPrecompile.run(context, inputs).map(Some);
        }
        if inputs.bytecode_address == staking::ADDRESS {
            return staking::StakingPrecompile.run(context, inputs).map(Some);
        }
        if inputs.bytecode_address == governance::ADDRESS {
            return governance::GovernancePrecompile.run(context, inputs).map(Some);
        }
        <EthPrecompiles as PrecompileProvider<CTX>>::run(&mut self.eth, context, inputs)
    }

    fn warm_addresses(&self) -> &AddressSet {
        &self.warm
    }

    fn contains(&self, address: &Address) -> bool {
        self.warm.contains(address)
    }
}
