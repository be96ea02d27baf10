//! The browser console, served by wharfd (next issues).
