"""HTTP routes; use cases come from the app's container through `dependencies`."""
