//! Precompiles of the Lineage chain: Ethereum's (Prague) plus the
//! attribution precompile.

pub mod attribution;
mod native;
pub mod registry;
pub mod whole;

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
        warm.insert(attribution::ADDRESS);
        warm.insert(registry::ADDRESS);
        Self { eth, warm, attribution }
    }

    /// Whether `address` is a precompile on this chain (Prague's or ours).
    pub fn is_precompile(address: &Address) -> bool {
        *address == attribution::ADDRESS || *address == registry::ADDRESS || EthPrecompiles::new(SpecId::PRAGUE).warm_addresses().contains(address)
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
        self.warm.insert(attribution::ADDRESS);
        self.warm.insert(registry::ADDRESS);
        changed
    }

    fn run(&mut self, context: &mut CTX, inputs: &CallInputs) -> Result<Option<Self::Output>, String> {
        if inputs.bytecode_address == attribution::ADDRESS {
            return self.attribution.run(context, inputs).map(Some);
        }
        if inputs.bytecode_address == registry::ADDRESS {
            return registry::RegistryPrecompile.run(context, inputs).map(Some);
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
