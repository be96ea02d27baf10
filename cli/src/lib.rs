//! The native transport (next).
