"""Loading the base model to fine-tune: safely (no code from the model, pickles only when allowed and
then tensors only), in fp32 master weights whatever dtype it was stored in, and checked against the
settings before any time is spent (max length within the model's positions, a real tokenizer)."""

from __future__ import annotations

from pathlib import Path

from moderator_app.core.errors import ModelNotUsableError, SettingsError, is_out_of_memory

PICKLE_WEIGHT_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
MIN_VOCABULARY = 10  # a tokenizer made up from nothing but special tokens knows ~5 entries
ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert", "longformer", "bart", "mpnet")  # positions start at 2


def _literal(text: str) -> str:
    return str(text).replace("{", "{{").replace("}", "}}")


def check_weight_files(name_or_path: str, allow_pickle: bool) -> None:
    """A local folder must hold safetensors weights, or pickle weights with `allow_pickle`."""
    folder = Path(name_or_path).expanduser()
    if not folder.is_dir() or any(folder.glob("*.safetensors")):
        return
    pickles = [name for name in PICKLE_WEIGHT_FILES if (folder / name).exists()]
    if not pickles:
        raise ModelNotUsableError(f"{_literal(folder)} holds no model weights (no model.safetensors).",
                                  "Choose another {model_name_or_path}.", setting="model_name_or_path")
    if not allow_pickle:
        raise ModelNotUsableError(
            f"{_literal(folder)} holds its weights only as {pickles[0]}, a pickle file that can run code when "
            "loaded.", "Convert it to safetensors, or, if you trust its source, turn on {allow_pickle}.",
            setting="allow_pickle")


def load_tokenizer(name: str, local_only: bool):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False, local_files_only=local_only)
    except Exception as error:  # noqa: BLE001 - tokenizers fail in many ways; all mean the same to the user
        raise load_failure(name, error, False) from None
    if len(tokenizer) < MIN_VOCABULARY:
        raise ModelNotUsableError(f"{_literal(name)} has no usable tokenizer (its vocabulary has "
                                  f"{len(tokenizer)} entries); the tokenizer files are missing.",
                                  "Choose a complete model folder as {model_name_or_path}.",
                                  setting="model_name_or_path")
    return tokenizer


def check_max_length(name: str, tokenizer, max_length: int, local_only: bool) -> int:
    """Raise SettingsError when `max_length` exceeds what the model can read; return that limit."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(name, trust_remote_code=False, local_files_only=local_only)
    except Exception as error:  # noqa: BLE001
        raise load_failure(name, error, False) from None
    limits = []
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions - 2 if getattr(config, "model_type", "") in ROBERTA_LIKE else positions)
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < 1_000_000:
        limits.append(tokenizer_limit)
    limit = min(limits) if limits else max_length
    if max_length > limit:
        raise SettingsError(f"{{max_length}} is {max_length}, but the base model {_literal(name)} reads at "
                            f"most {limit} tokens.", f"Lower {{max_length}} to {limit} or less.",
                            setting="max_length")
    return limit


def load_model(name: str, labels: list[str], allow_pickle: bool, local_only: bool, multi_label: bool = False):
    """The base model with a fresh classification head for `labels`, in fp32 (the master weights that
    mixed precision needs; a checkpoint stored in fp16/bf16 would otherwise train in half precision).
    `multi_label`: `labels` are categories, each scored by its own sigmoid (the saved config's
    `problem_type` says so to whoever loads the model)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    problem = {"problem_type": "multi_label_classification"} if multi_label else {}
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            name, num_labels=len(labels), id2label=dict(enumerate(labels)), **problem,
            label2id={label: index for index, label in enumerate(labels)}, ignore_mismatched_sizes=True,
            trust_remote_code=False, use_safetensors=None if allow_pickle else True, weights_only=True,
            dtype=torch.float32, local_files_only=local_only)
    except Exception as error:  # noqa: BLE001
        raise load_failure(name, error, allow_pickle) from None


def load_failure(name: str, error: Exception, allow_pickle: bool) -> Exception:
    """The user's version of a loading failure (out of memory stays itself: describe_failure says it)."""
    if is_out_of_memory(error):
        return error
    text = str(error)
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    if "trust_remote_code" in text or "custom code" in text:
        return ModelNotUsableError(f"{_literal(name)} needs its own Python code to load, and this app never "
                                   "runs code that comes with a model.",
                                   "Choose a standard model as {model_name_or_path}.", setting="model_name_or_path")
    if "weights_only" in text or type(error).__name__ == "UnpicklingError":
        # never repeat torch's advice to load with weights_only=False: that is how a pickle runs code
        return ModelNotUsableError(f"{_literal(name)}: its pickle weights hold more than plain tensors, so they "
                                   "were not loaded.", "Choose a model stored as safetensors.",
                                   setting="model_name_or_path")
    if not allow_pickle and (".bin" in text or "safetensors" in text):
        return ModelNotUsableError(f"{_literal(name)}: no safetensors weights ({_literal(first)}).",
                                   "If you trust its source, turn on {allow_pickle}.", setting="allow_pickle")
    return ModelNotUsableError(f"Cannot load the base model {_literal(name)}: {_literal(first)}",
                               setting="model_name_or_path")
