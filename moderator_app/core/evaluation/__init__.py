"""Evaluating a classifier on labelled data: metrics beside the majority baseline, label maps that
turn a file's labels into the model's, and the calibrated operating threshold saved with a model."""
