//! Governance: virtual keys, teams, budgets and limits that hold across
//! replicas, and exact spend, with no database on the request path.

pub mod model;
pub mod store;
