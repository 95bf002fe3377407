"""The Training tab: form, data preview, run monitor and the worker that drives the training process."""
