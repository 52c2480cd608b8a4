//! The HDF5 recording format, importers (PicoQuant PTU, timestamp7) and Photon-HDF5 export.
//!
//! Not built yet: see the open issue "Recordings". The crate exists so the workspace has its
//! final shape and the dependency direction is fixed from the start.
#![warn(missing_docs)]
