"""Training: data loading, the engine, checkpoints, events, metrics, the model card."""
