//! USB bulk transport (placeholder filled in below).
