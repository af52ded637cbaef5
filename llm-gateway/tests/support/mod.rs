pub(crate) mod replica;
pub(crate) mod servers;
