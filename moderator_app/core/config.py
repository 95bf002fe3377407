"""Training configuration: the published recipe as defaults, validated, stored as JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

PRECISIONS = ("auto", "fp16", "bf16", "fp32")
DEVICES = ("auto", "cuda", "mps", "cpu")
SCHEDULERS = ("linear", "cosine", "constant_with_warmup", "constant")


class ConfigError(ValueError):
    """An invalid configuration value. `field` names the offending field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class TrainingConfig:
    """Everything a fine-tuning run needs. Defaults reproduce the published recipe
    (DistilRoBERTa, lr 2e-5, batch 32, seed 12345, Adam, linear schedule with 16 warmup
    steps, up to 20 epochs, native AMP, early stopping on validation loss, patience 3)."""

    # Data
    train_file: str = ""
    validation_file: str = ""
    text_column: str = ""  # empty: detect
    label_column: str = ""  # empty: detect
    validation_split: float = 0.1  # used when no validation file is given
    treat_na_labels_as_missing: bool = True  # labels NaN, null, None, N/A … count as missing (rows dropped)
    # Model and output
    model_name_or_path: str = "distilroberta-base"
    output_dir: str = ""
    max_length: int = 128
    # Optimisation (the recipe)
    learning_rate: float = 2e-5
    train_batch_size: int = 32
    eval_batch_size: int = 32
    seed: int = 12345
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0  # as transformers.Trainer, which the recipe used
    lr_scheduler: str = "linear"
    warmup_steps: int = 16
    num_epochs: int = 20
    early_stopping_patience: int = 3  # epochs without a lower validation loss; 0 disables
    # Hardware
    device: str = "auto"
    precision: str = "auto"
    # Speed switches; none changes what is computed, only batch composition and layout
    group_by_length: bool = True
    # Bookkeeping
    logging_steps: int = 10
    save_checkpoint_every_epoch: bool = True
    # Calibration: how the operating threshold is chosen on the validation set at the end of a run
    threshold_rule: str = "best_f1"

    # ----------------------------------------------------------------------------
    def validate(self, require_data: bool = True) -> "TrainingConfig":
        """Raise ConfigError naming the first invalid field; return self when valid."""

        def positive(name: str, allow_zero: bool = False) -> None:
            value = getattr(self, name)
            if allow_zero and value < 0 or not allow_zero and value <= 0:
                raise ConfigError(name, f"must be {'≥ 0' if allow_zero else '> 0'}, got {value!r}")

        for f in fields(self):
            value = getattr(self, f.name)
            expected = _FIELD_TYPES[f.name]
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                setattr(self, f.name, float(value))
                continue
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(f.name, f"expected {expected.__name__}, got {value!r}")
        if require_data and not self.train_file.strip():
            raise ConfigError("train_file", "choose a training data file")
        if require_data and not self.output_dir.strip():
            raise ConfigError("output_dir", "choose an output folder")
        if not self.model_name_or_path.strip():
            raise ConfigError("model_name_or_path", "choose a base model (a hub id or a local folder)")
        if not 0.0 < self.validation_split < 1.0:
            raise ConfigError("validation_split", f"must be between 0 and 1, got {self.validation_split!r}")
        for name in ("learning_rate", "train_batch_size", "eval_batch_size", "adam_epsilon", "num_epochs",
                     "max_length", "logging_steps"):
            positive(name)
        for name in ("weight_decay", "warmup_steps", "early_stopping_patience", "max_grad_norm", "seed"):
            positive(name, allow_zero=True)
        for name in ("adam_beta1", "adam_beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(name, f"must be in [0, 1), got {getattr(self, name)!r}")
        if self.max_length > 8192:
            raise ConfigError("max_length", f"at most 8192 tokens, got {self.max_length}")
        if self.precision not in PRECISIONS:
            raise ConfigError("precision", f"one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.device not in DEVICES:
            raise ConfigError("device", f"one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.lr_scheduler not in SCHEDULERS:
            raise ConfigError("lr_scheduler", f"one of {', '.join(SCHEDULERS)}, got {self.lr_scheduler!r}")
        from moderator_app.core.errors import SettingsError
        from moderator_app.core.evaluation.threshold_rule import RULE_FORMS, parse_threshold_rule

        try:
            parse_threshold_rule(self.threshold_rule)
        except SettingsError:
            raise ConfigError("threshold_rule", f"one of {RULE_FORMS}, got {self.threshold_rule!r}") from None
        if self.device == "cpu" and self.precision == "fp16":
            raise ConfigError("precision", "fp16 needs a CUDA GPU; use fp32 or bf16 on the CPU")
        return self

    # ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainingConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting (known ones: {', '.join(sorted(known))})")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "TrainingConfig":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError("config", f"cannot read {path}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise ConfigError("config", f"{path} is not valid JSON (line {error.lineno}): {error.msg}") from None
        if not isinstance(data, dict):
            raise ConfigError("config", f"{path} must hold a JSON object of settings")
        config = cls.from_dict(data)
        config.validate(require_data=False)
        return config


_FIELD_TYPES: dict[str, type] = {f.name: {"str": str, "int": int, "float": float, "bool": bool}[f.type]
                                 for f in fields(TrainingConfig)}

FIELD_HELP: dict[str, str] = {
    "train_file": "CSV, TSV, JSON Lines or Parquet file with one text and one label per row, or a hub dataset id.",
    "validation_file": "Optional separate validation file; without it a stratified split of the training data is used.",
    "text_column": "Column holding the text. Leave empty to detect (text, tweet, comment, sentence …).",
    "label_column": "Column holding the label: strings, integers or a 0–1 score (≥ 0.5 is positive).",
    "treat_na_labels_as_missing": "Labels spelled NaN, null, None, N/A … count as missing: their rows are dropped "
                                  "(and reported) instead of becoming classes of their own.",
    "validation_split": "Fraction of the training data held out for validation when no validation file is given.",
    "model_name_or_path": "Base model: a Hugging Face hub id (needs internet the first time) or a local model folder.",
    "output_dir": "Folder that receives the trained model, its config, metrics and model card.",
    "max_length": "Texts are truncated to this many tokens.",
    "learning_rate": "Peak learning rate of the Adam optimiser (recipe: 2e-5).",
    "train_batch_size": "Texts per training step (recipe: 32). Lower it if the GPU runs out of memory.",
    "eval_batch_size": "Texts per evaluation batch (recipe: 32).",
    "seed": "Random seed for initialisation, shuffling and the validation split (recipe: 12345).",
    "adam_beta1": "Adam β1 (recipe: 0.9).",
    "adam_beta2": "Adam β2 (recipe: 0.999).",
    "adam_epsilon": "Adam ε (recipe: 1e-8).",
    "weight_decay": "Decoupled weight decay (recipe: 0).",
    "max_grad_norm": "Gradients are clipped to this norm; 0 disables clipping.",
    "lr_scheduler": "Learning-rate schedule after warm-up (recipe: linear decay).",
    "warmup_steps": "Steps of linear warm-up from 0 to the learning rate (recipe: 16).",
    "num_epochs": "Maximum number of passes over the training data (recipe: 20).",
    "early_stopping_patience": "Stop after this many epochs without a lower validation loss (recipe: 3); 0 disables.",
    "device": "Where to train: auto picks CUDA, then Apple MPS, then the CPU.",
    "precision": "auto: fp16 mixed precision on CUDA (the recipe's native AMP), fp32 elsewhere.",
    "group_by_length": "Batch texts of similar length together (less padding, same data each epoch).",
    "logging_steps": "Losses are read from the device every this many steps.",
    "save_checkpoint_every_epoch": "Write a resumable checkpoint at the end of every epoch.",
    "threshold_rule": "How the decision threshold of a binary model is chosen on the validation set after training: "
                      "best_f1 (default), precision>=P (e.g. precision>=0.9) or recall>=R.",
}
