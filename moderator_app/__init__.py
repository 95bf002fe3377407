"""moderator-app: fine-tune hate-speech classifiers and review text with them."""

__version__ = "0.1.0"
