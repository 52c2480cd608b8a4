//! One module per subcommand.
pub mod bench;
pub mod compression;
pub mod convert;
pub mod demo;
pub mod devices;
pub mod dump;
pub mod engine_args;
pub mod keyrate;
pub mod record;
pub mod replay;
pub mod selftest;
pub mod sim;
