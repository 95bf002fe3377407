"""Inference: the classifier, word explanations and batch labelling."""
