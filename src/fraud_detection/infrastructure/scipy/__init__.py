"""scipy adapters: the p-values of the drift tests (KS distribution, binomial, chi-square)."""
