"""What a model folder must hold before the classifier loads it, and why one cannot be loaded: its
weights (safetensors, or a pickle only when allowed) and tokenizer files, the files our trainer left
beside them, the length it was trained with, and a library's failure in one sentence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moderator_app.core.errors import ModelNotUsableError

PICKLE_WEIGHT_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
# A tokenizer is saved as one of these (fast tokenizers, WordPiece, BPE, SentencePiece). Without any,
# transformers may still build an empty tokenizer, and every word becomes [UNK].
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model", "sentencepiece.model")
MIN_VOCABULARY = 100  # fewer tokens than this is not a real tokenizer (the empty one has 5 special tokens)
# Longer inputs cost quadratic time for a text-classification head that reads mostly the start.
MAX_LENGTH_CAP = 512


class ModelLoadError(ModelNotUsableError, RuntimeError):
    """The model exists but cannot be used as a text classifier; the message says what to do."""


def check_weight_files(folder: Path, allow_pickle: bool) -> None:
    """Refuse a folder whose weights exist only as a pickle (which can run code when unpickled)
    unless the user opted in; say so before transformers gives a less helpful error."""
    if any(folder.glob("*.safetensors")):
        return
    pickles = [name for name in PICKLE_WEIGHT_FILES if (folder / name).exists()]
    if not pickles:
        raise ModelLoadError(f"{folder} holds no model weights (no model.safetensors).",
                             "Choose a folder written by training or a Hugging Face model folder.")
    if not allow_pickle:
        raise ModelLoadError(
            f"{folder} holds its weights only as {pickles[0]}, a pickle file that can run code when loaded.",
            "Convert it to safetensors, or, if you trust where it came from, allow it with {allow_pickle}.",
            setting="allow_pickle")


def check_tokenizer_files(folder: Path) -> None:
    """Refuse a model folder without tokenizer files: transformers would label with an empty vocabulary."""
    if not any((folder / name).exists() for name in TOKENIZER_FILES):
        raise ModelLoadError(
            f"{folder} holds no tokenizer (none of {', '.join(TOKENIZER_FILES[:3])} …); without it every word "
            "would be unknown to the model.",
            "Copy the tokenizer files of its base model into the folder (a folder written by training has them).")


def explain_load_failure(name: str, error: Exception, allow_pickle: bool) -> ModelLoadError:
    """A library's failure to load a model as one sentence; never torch's advice to turn weights_only off."""
    text = str(error)
    message = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    if "trust_remote_code" in text or "custom code" in text:
        return ModelLoadError(f"{name} needs custom model code, which moderator-app never runs.",
                              "Choose a standard model.")
    if type(error).__name__ in ("UnpicklingError", "PickleError") or "weights_only" in text:
        return ModelLoadError(f"{name}: its pickle weights (pytorch_model.bin) hold more than plain tensors, "
                              "objects whose loading could run code; they were refused.",
                              "Choose a model with safetensors weights, or convert a copy you trust.")
    if type(error).__name__ == "SafetensorError" or "deserializ" in text.lower():
        return ModelLoadError(f"{name}: the weights file (model.safetensors) is damaged or incomplete ({message}).",
                              "Copy or download the model again.")
    if "mismatch" in text.lower() or "size mismatch" in text:
        return ModelLoadError(f"{name}: config.json does not match the weights (the number of labels or the layer "
                              "sizes differ).", "Use the config.json saved with these weights, or fix its "
                              "id2label/label2id to the head's number of labels.")
    if not allow_pickle and (".bin" in text or "safetensors" in text):
        return ModelLoadError(f"{name}: no safetensors weights ({message}).",
                              "If you trust its source, allow pickle weights with {allow_pickle}.",
                              setting="allow_pickle")
    if isinstance(error, RecursionError):
        return ModelLoadError(f"{name}: a JSON file of the model (config or tokenizer) is nested too deeply to read "
                              "(brackets inside brackets, about a thousand levels deep).",
                              "Copy or download the model again.")
    if isinstance(error, json.JSONDecodeError) or "json" in type(error).__name__.lower():
        return ModelLoadError(f"{name}: a JSON file of the model (config or tokenizer) is not valid: {message}.",
                              "Copy or download the model again.")
    return ModelLoadError(f"{name}: cannot be loaded as a text classifier: {message}")


def read_training_files(folder: Path) -> dict[str, dict | None]:
    """training_config.json and training_summary.json from a folder written by our trainer; absent
    or unreadable ones are None (the folder may come from anywhere)."""
    found: dict[str, dict | None] = {}
    for key in ("training_config", "training_summary"):
        try:
            data = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            data = None
        found[key] = data if isinstance(data, dict) else None
    return found


def default_max_length(tokenizer, config, trained_max_length: Any = None) -> int:
    """The length the model was fine-tuned with when known (what it learned on), else what the
    tokenizer and position embeddings allow, capped at MAX_LENGTH_CAP."""
    if isinstance(trained_max_length, int) and trained_max_length > 0:
        return trained_max_length
    limit = MAX_LENGTH_CAP
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < 100_000:
        limit = min(limit, tokenizer_limit)
    else:
        positions = getattr(config, "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 0:
            # RoBERTa-style models reserve two positions for the padding offset.
            limit = min(limit, positions - 2 if config.model_type in ("roberta", "xlm-roberta", "camembert")
                        else positions)
    return limit
