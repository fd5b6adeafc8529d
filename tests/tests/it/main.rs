//! The integration tests, one binary: each module is one area (its file says what it
//! covers). One binary links once, where one binary per file linked 25 times.
//!
//! Run one area with `cargo test -p stackdsl-tests --test it <module>::`, e.g.
//! `cargo test -p stackdsl-tests --test it cli::`.

mod authoring;
mod backups;
mod bench;
mod catalog;
mod ci;
mod cli;
mod cluster;
mod compose_parity;
mod crash;
mod determinism;
mod diagram;
mod edge;
mod examples;
mod external;
mod file_safety;
mod gateway;
mod gitops;
mod hatch;
mod hostile;
mod hostile_setters;
mod hostile_values;
mod kubernetes;
mod leaks;
mod library;
mod literal_secrets;
mod migrations;
mod monitoring;
mod operators;
mod paas;
mod plausible;
mod pods;
mod probes;
mod properties;
mod review;
mod secrets;
mod security;
mod semantics;
mod terraform;
mod ui;
mod validation;
