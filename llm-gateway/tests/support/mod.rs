pub(crate) mod servers;
