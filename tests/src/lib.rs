//! Fixtures for end-to-end tests (next).
