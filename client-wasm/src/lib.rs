//! Wharf in the browser: transports over `fetch` and WebSocket for the client core (next issues).
