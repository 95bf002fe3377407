"""The PySide6 desktop app. Nothing here imports torch, transformers or datasets at module level:
model code runs in workers on background threads and is imported there, after the window shows."""
