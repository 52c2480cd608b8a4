//! Unix-socket transport to `qkdbench sim serve` (placeholder filled in below).
