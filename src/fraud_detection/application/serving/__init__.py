"""Online scoring: the model being served, its lifecycle, and the scoring use case."""
