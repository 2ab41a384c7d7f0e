//! Integration tests: the real binary and the real HTTP server on port 0, with the real
//! model, a fresh database per server and the demo catalogue.

mod cli;
mod errors;
mod helpers;
mod index_suite;
mod inquiries;
mod mail;
mod mailservers;
