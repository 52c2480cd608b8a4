//! Wire protocols, as pure codecs: no I/O here, so each is tested and fuzzed on its own.
pub mod register;
pub mod tag_stream;
