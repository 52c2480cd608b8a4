//! Device roles (pattern generator, time tagger), their wire protocols, transports and
//! backends (hardware, simulated bench, replay).
//!
//! Not built yet: see the open issue "Drivers and the simulated bench". The crate exists so
//! the workspace has its final shape and the dependency direction is fixed from the start.
#![warn(missing_docs)]
