"""Importing torch, transformers and datasets on background threads: all of them, one thread at a time.

A thread using one of these libraries while another thread is still importing another can see a
half-initialised module: datasets, for instance, inspects `transformers.PreTrainedTokenizerBase` and
`torch.Tensor` whenever those modules are in sys.modules. So every background job that needs any of
them first imports all three, fully, under one lock; after that, nothing is half-imported any more."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_loaded = False


def import_model_libraries() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        import torch  # noqa: F401
        import transformers

        # transformers resolves its attributes lazily: resolve those the engine and datasets use
        for name in ("PreTrainedTokenizerBase", "PreTrainedModel", "AutoTokenizer",
                     "AutoModelForSequenceClassification", "DataCollatorWithPadding", "get_scheduler", "set_seed"):
            getattr(transformers, name)
        import datasets  # noqa: F401

        _loaded = True
