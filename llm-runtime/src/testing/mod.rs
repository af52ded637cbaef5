//! A loopback mock upstream for tests.
