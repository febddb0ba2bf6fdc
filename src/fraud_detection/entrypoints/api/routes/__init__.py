"""HTTP routes; each module is wired by the container (see container.API_PACKAGES)."""
