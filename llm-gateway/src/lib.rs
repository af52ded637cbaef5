//! # llm-gateway (stub: gw-core's crate replaces this file)
#![warn(missing_docs)]

pub mod ingress;
