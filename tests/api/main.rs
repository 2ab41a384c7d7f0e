//! Integration tests: the real binary and the real HTTP server on port 0, with the real
//! model, a fresh database per server and the demo catalogue. Storage tests run against
//! SQLite and a PostgreSQL server started by the tests (`pg`).

mod access;
mod accounts;
mod admin;
mod admin_pages;
mod admission;
mod audit;
mod bombs;
mod browser;
mod case_store;
mod catalogue;
mod citizen;
mod cli;
mod crash;
mod errors;
mod fuzz;
mod hardening;
mod helpers;
mod index_suite;
mod inquiries;
mod learning;
mod logs;
mod mail;
mod mail_bombs;
mod mail_limits;
mod mailservers;
mod metrics;
mod open311;
mod openapi;
mod pages;
mod pg;
mod places;
mod process;
mod qdrant;
mod relay;
mod replay;
mod replicas;
mod replies;
mod rss;
mod scope;
mod sessions;
mod store;
mod tokens;
mod webhooks;
