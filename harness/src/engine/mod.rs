//! The streaming engine: decode → clock recovery → gate → sift → metrics.
pub mod finite_key;
