"""The Review tab: model panel, results table, batch labelling, explanations and decisions."""
