"""Review state: the decision store."""
