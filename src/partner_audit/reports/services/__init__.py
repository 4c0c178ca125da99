"""The reports domain's rules: who sees which scores and figures, and the quarterly report."""
