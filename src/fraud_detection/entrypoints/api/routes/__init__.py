"""HTTP routes; each module is wired by the container (see container.WIRED_PACKAGES)."""
