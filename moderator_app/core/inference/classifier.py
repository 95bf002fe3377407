"""Loading a text classifier and predicting with it, fast, on any device.

Qt-free: the CLI's `label`/`classify` and the GUI's Review tab stand on the same code. torch and
transformers are imported inside the functions that need them, so importing this module is cheap.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from moderator_app.core.devices import resolve_device
from moderator_app.core.errors import is_out_of_memory
from moderator_app.core.hub import ensure_model_available, hub_reachable
from moderator_app.core.inference.model_folder import (MIN_VOCABULARY, ModelLoadError, check_tokenizer_files,
                                                       check_weight_files, default_max_length, explain_load_failure,
                                                       read_training_files)
from moderator_app.core.inference.paths import (PATHS, InferencePath, bucket_length, choose_path, compile_model,
                                                describe_path, fall_back, first_line, precision_of,
                                                prepare_model)
from moderator_app.core.inference.saved_operating_point import load_operating_point
from moderator_app.core.labels import decide_labels, flagged_categories, positive_class_index
from moderator_app.core.precision import Precision, inference_precision
from moderator_app.core.text.normalise import describe_normalisation, normalise_text

# Sorting by length only pays off within a group of texts, and the group's token ids are held in
# memory: a few thousand texts keeps that small while batches of similar length are easy to form.
PREDICT_GROUP_SIZE = 4096
# With texts sorted by length, 32 to 128 texts per batch ran equally fast with all-MiniLM-L6-v2 on two
# CPU cores (matrix products are 80 % of the time); a GPU needs bigger batches to be kept busy.
DEFAULT_BATCH_SIZE = {"cpu": 64, "mps": 64, "cuda": 256}
# A batch holds at most `batch_size` texts and at most `batch_size * TOKENS_PER_TEXT_BUDGET` tokens
# (padding included): batches of short texts stay as they are, while a file of long posts gets
# smaller batches instead of activations several times larger (MiniLM on 512-token texts: 0.22× the
# memory and 0.90× the time of 64-text batches, benchmarks/long_text_batches.py).
TOKENS_PER_TEXT_BUDGET = 64
# A classifier built without a path (tests, callers that cast nothing) runs its precision's reference path.
PATHS_BY_FORMAT = {"fp32": PATHS["fp32"], "bf16": PATHS["bf16-autocast"]}



@dataclass(frozen=True)
class Prediction:
    """One text's result. An empty text gets label "" and no probabilities."""

    label: str
    probabilities: dict[str, float]
    # Binary model: probability of the positive class (see Classifier.positive_label).
    # Other models: probability of the predicted label. None for an empty text.
    score: float | None

    @property
    def is_empty(self) -> bool:
        return self.label == ""


def is_empty_text(text: Any) -> bool:
    return text is None or not str(text).strip()


class Classifier:
    """A sequence-classification model with its tokenizer, ready to predict.

    Create with Classifier.load(); `labels`, `base_model`, `training_summary`, `positive_label`
    and `max_length` describe it; predict() classifies texts."""

    def __init__(self, model, tokenizer, device: str, name_or_path: str, *, max_length: int,
                 base_model: str, training_summary: dict | None, operating_point=None,
                 precision: Precision | None = None, normalise: bool = True, normalise_evasion: bool = False,
                 path: InferencePath | None = None, compiled: bool = False, path_note: str = ""):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        # The number format (core.precision's rule) and the path that computes in it (core.inference.paths):
        # fp32 as loaded, bf16 under autocast over fp32 weights, or the weights cast once at load.
        precision = precision or Precision("fp32", device, "as set: full precision")
        self.path = path or PATHS_BY_FORMAT.get(precision.name) or choose_path(precision)
        # A compiled model (torch.compile) sees padded lengths from a few buckets only; `model` is then the
        # compiled one and `eager_model` what it falls back to when compilation fails at the first batch.
        self.compiled = compiled
        self.eager_model = getattr(model, "_orig_mod", model)
        self.path_note = path_note
        self.base_precision = precision
        self.precision = self._described_precision()
        self.name_or_path = name_or_path
        self.max_length = max_length
        # core.text.normalise before the model reads a text (NFKC, zero-width characters removed)
        self.normalise = normalise
        # and with it, core.text.evasion_spellings (look-alike letters, spaced-out letters, leetspeak)
        self.normalise_evasion = normalise_evasion
        self.base_model = base_model
        self.training_summary = training_summary
        config = self.eager_model.config
        self.labels: list[str] = [str(config.id2label[index]) for index in range(config.num_labels)]
        # Multi-label models score each class independently; the rest are softmax classifiers.
        self.multi_label = getattr(config, "problem_type", None) == "multi_label_classification"
        # which label a binary model flags; a multi-label model of two categories is not binary
        self.positive_index = None if self.multi_label else positive_class_index(self.labels)
        # core.inference.saved_operating_point.OperatingPoint saved by training, or None: its temperature
        # calibrates the probabilities and its threshold is the default decision.
        self.operating_point = operating_point
        self.temperature = operating_point.temperature if operating_point and not self.multi_label else 1.0
        # A multi-label model's temperature per category (1 without an operating point): the logits of
        # category k are divided by the k-th before the sigmoid.
        categories = (operating_point.categories if operating_point is not None else None) or {}
        self.category_temperatures = np.array([float(categories.get(label, {}).get("temperature", 1.0))
                                               for label in self.labels], dtype=np.float32)

    # ------------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, name_or_path: str | Path, device: str = "auto", allow_pickle: bool = False,
             max_length: int | None = None, precision: str = "auto", normalise: bool | None = None,
             normalise_evasion: bool | None = None, compile: bool = False, path: str | None = None
             ) -> "Classifier":
        """Load a folder written by `moderator-app train`, any Hugging Face classifier folder, or a
        hub id (downloaded when online). Weights must be safetensors unless `allow_pickle`, and
        even then a pickle is loaded with `weights_only`. Custom model code is never run.
        `precision` (auto, bf16, fp32) is resolved by core.precision.inference_precision. `normalise`
        (core.text.normalise) defaults to the training configuration's `normalise_text`, else on;
        `normalise_evasion` to its `normalise_evasion`: off for this app's models trained before the setting
        existed (they keep reading texts as they did), on for models from elsewhere.
        The fastest inference path of that precision that passed its agreement check is taken
        (core.inference.paths); `compile` also compiles it with torch.compile, falling back to the
        uncompiled model, with one line, where compilation is not available. `path` (a name of
        core.inference.paths.PATHS) forces a path whatever its check: for benchmarks and tests.

        Raises ModelNotAvailableError (not downloaded and offline), ModelLoadError, or SettingsError
        (a precision this device cannot run)."""
        name = str(name_or_path)
        ensure_model_available(name)
        folder = Path(name).expanduser()
        is_folder = folder.is_dir()
        if is_folder:
            check_weight_files(folder, allow_pickle)
            check_tokenizer_files(folder)
            name = str(folder)

        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            device = resolve_device(device)
        except RuntimeError as error:  # the device asked for is not there
            raise ModelLoadError(str(error), "Choose another {device}.", setting="device") from None
        resolved_precision = inference_precision(precision, device)  # before the slow load
        # A cached hub model with the hub out of reach: load from the cache at once instead of
        # letting transformers retry the network.
        local_only = not is_folder and not hub_reachable()
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False, local_files_only=local_only)
            model, loading_info = AutoModelForSequenceClassification.from_pretrained(
                name, use_safetensors=None if allow_pickle else True, weights_only=True, local_files_only=local_only,
                trust_remote_code=False, dtype=torch.float32, output_loading_info=True)
        except Exception as error:  # transformers, safetensors, torch and pickle each raise their own types
            if is_out_of_memory(error):
                raise
            raise explain_load_failure(name, error, allow_pickle) from None
        if len(tokenizer) < MIN_VOCABULARY:
            raise ModelLoadError(
                f"{name}: its tokenizer knows only {len(tokenizer)} tokens, so every word would be unknown; "
                "the tokenizer files are missing or broken.",
                "Copy the tokenizer files of its base model (tokenizer.json, vocab …) into the model folder.")
        # A base encoder (e.g. all-MiniLM-L6-v2 itself) loads with a randomly initialised head
        # and would label at random: refuse instead of producing confident-looking noise.
        missing = list(loading_info.get("missing_keys") or [])
        if missing:
            raise ModelLoadError(
                f"{name} has no trained classification head (missing weights: {', '.join(sorted(missing)[:3])}); "
                "it is a base model.", "Fine-tune it first (training), or choose a trained classifier.")
        mismatched = list(loading_info.get("mismatched_keys") or [])
        if mismatched:
            raise ModelLoadError(f"{name}: config.json does not match the weights ({len(mismatched)} layers of "
                                 "another size, e.g. the number of labels).",
                                 "Use the config.json saved with these weights.")
        if model.config.num_labels < 2:
            raise ModelLoadError(f"{name} predicts a single number (a regression model), not labels.")
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            # GPT-style models have no padding token; batches need one, and the model must know it
            # to find each text's last real token.
            tokenizer.pad_token = tokenizer.eos_token
            model.config.pad_token_id = tokenizer.eos_token_id
        model.to(device).eval()
        if path is None:
            chosen = choose_path(resolved_precision, precision)
            resolved_precision = precision_of(chosen, resolved_precision)
        else:
            chosen = PATHS[path]
            resolved_precision = Precision(chosen.number_format, device, f"as set: the {path} path")
        model = prepare_model(model, chosen)

        extras = read_training_files(folder) if is_folder else {}
        operating_point = load_operating_point(
            folder, [str(model.config.id2label[index]) for index in range(model.config.num_labels)],
            multi_label=getattr(model.config, "problem_type", None) == "multi_label_classification") if is_folder else None
        training_config = extras.get("training_config") or {}
        training_summary = extras.get("training_summary")
        base_model = ((training_summary or {}).get("base_model") or training_config.get("model_name_or_path")
                      or (name if not is_folder else model.config.model_type))
        if max_length is None:
            max_length = default_max_length(tokenizer, model.config, training_config.get("max_length"))
        if normalise is None:
            normalise = training_config.get("normalise_text", True) is not False
        if normalise_evasion is None:
            normalise_evasion = (training_config.get("normalise_evasion", False) is True if training_config
                                 else True)
        model, note = compile_model(model) if compile else (model, "")
        return cls(model, tokenizer, device, name, max_length=int(max_length), base_model=str(base_model),
                   training_summary=training_summary, operating_point=operating_point, precision=resolved_precision,
                   normalise=normalise, normalise_evasion=normalise_evasion, path=chosen,
                   compiled=compile and not note, path_note=note)

    @property
    def positive_label(self) -> str | None:
        return None if self.positive_index is None else self.labels[self.positive_index]

    @property
    def normalisation(self) -> str:
        """What is done to a text before the model reads it, in words."""
        return describe_normalisation(self.normalise, self.normalise_evasion)

    @property
    def is_binary(self) -> bool:
        return self.positive_index is not None

    @property
    def default_threshold(self) -> float | None:
        """The saved operating point's threshold; None (the most probable label) without one."""
        return self.operating_point.threshold if self.operating_point is not None else None

    @property
    def category_thresholds(self) -> dict[str, float]:
        """A multi-label model's decision threshold per category (on its calibrated probability), from the
        operating point training saved; 0.5 each for a folder without one. Empty for other models."""
        if not self.multi_label:
            return {}
        saved = (self.operating_point.categories if self.operating_point is not None else None) or {}
        return {label: float(saved[label]["threshold"]) if label in saved else 0.5 for label in self.labels}

    def decide_categories(self, probabilities: np.ndarray,
                          thresholds: dict[str, float] | None = None) -> list[list[str]]:
        """A multi-label model's decision: per row, the categories whose probability (from
        predict_probabilities) is at or over their threshold, in the model's order; [] for none and for
        empty texts (rows of NaN). `thresholds` (category → threshold) overrides the saved ones it names."""
        if not self.multi_label:
            raise ValueError(f"categories are decided by a multi-label model; this one has one label per text "
                             f"({', '.join(self.labels)})")
        chosen = self.category_thresholds_with(thresholds)
        return flagged_categories(probabilities, self.labels, [chosen[label] for label in self.labels])

    def category_thresholds_with(self, overrides: dict[str, float] | None = None) -> dict[str, float]:
        """The thresholds a multi-label model decides at: its saved ones, with `overrides` (category →
        threshold: `--threshold CATEGORY=T`, the Review tab's) in place of those it names. What
        decide_categories applies, labelling's record keeps and the Spark engine hands its executors."""
        chosen = dict(self.category_thresholds)
        for label, threshold in (overrides or {}).items():
            if label not in chosen:
                raise ValueError(f"{label!r} is not one of the model's categories ({', '.join(self.labels)})")
            if not 0.0 <= float(threshold) <= 1.0:
                raise ValueError(f"the threshold of {label!r} must be between 0 and 1, got {threshold}")
            chosen[label] = float(threshold)
        return chosen

    def default_batch_size(self) -> int:
        return DEFAULT_BATCH_SIZE.get(self.device.split(":")[0], 64)

    # ---------------------------------------------------------------------------- predicting
    def predict(self, texts: Sequence[str | None], batch_size: int | None = None,
                threshold: float | None = None,
                on_batch: Callable[[int], None] | None = None) -> list[Prediction]:
        """Classify `texts`, in their order. `threshold` (binary models only): the positive label
        when its probability is ≥ threshold; None takes the most probable label."""
        probabilities = self.predict_probabilities(texts, batch_size, on_batch)
        labels, scores = self.decide(probabilities, threshold)
        return [Prediction(label, {} if not label else dict(zip(self.labels, map(float, row))),
                           None if not label else float(score))
                for label, score, row in zip(labels, scores, probabilities)]

    def predict_probabilities(self, texts: Sequence[str | None], batch_size: int | None = None,
                              on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Array (len(texts), len(labels)) of class probabilities; rows of NaN for empty texts.
        `on_batch(rows)` is called after each batch with the number of texts it held (it may
        raise to stop)."""
        return self._predict(texts, batch_size, on_batch, self._probabilities)

    def predict_logits(self, texts: Sequence[str | None], batch_size: int | None = None,
                       on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """As predict_probabilities, but the model's raw logits (no temperature): what calibration fits."""
        return self._predict(texts, batch_size, on_batch, lambda logits: logits)

    def _probabilities(self, logits):
        if self.multi_label:
            return (logits / logits.new_tensor(self.category_temperatures)).sigmoid()
        return (logits / self.temperature).softmax(dim=-1)

    def _predict(self, texts, batch_size, on_batch, transform) -> np.ndarray:
        result = np.full((len(texts), len(self.labels)), np.nan, dtype=np.float32)
        for start in range(0, len(texts), PREDICT_GROUP_SIZE):
            group = texts[start:start + PREDICT_GROUP_SIZE]
            if self.normalise:  # before the emptiness test: a text of zero-width characters only is empty
                group = [text if is_empty_text(text) else normalise_text(str(text), self.normalise_evasion)
                         for text in group]
            positions = [index for index, text in enumerate(group) if not is_empty_text(text)]
            if positions:
                result[[start + index for index in positions]] = self._predict_nonempty(
                    [str(group[index]) for index in positions], batch_size or self.default_batch_size(), on_batch,
                    transform)
        return result

    def decide(self, probabilities: np.ndarray, threshold: float | None = None) -> tuple[list[str], np.ndarray]:
        """Labels ("" for empty rows) and scores (NaN for empty rows) from predict_probabilities()."""
        if threshold is not None:
            if not self.is_binary:
                raise ValueError(f"a decision threshold needs a binary model; this one has {len(self.labels)} "
                                 f"labels ({', '.join(self.labels)})")
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"the threshold must be between 0 and 1, got {threshold}")
        return decide_labels(probabilities, self.labels, self.positive_index, threshold)

    def _predict_nonempty(self, texts: list[str], batch_size: int,
                          on_batch: Callable[[int], None] | None, transform) -> np.ndarray:
        import torch

        # One call tokenizes the whole group (the fast tokenizer works in parallel, in Rust);
        # sorting by token count then lets each batch be padded only to its own longest text.
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        columns = list(encoded.keys())
        # Longest first: each batch's tensors then fit in the memory the previous, larger batch
        # freed. Shortest first, every batch needs slightly more than any hole left behind and the
        # heap grows batch after batch (benchmarks/label_memory.py). It also meets an
        # out-of-memory error at once rather than at the end of the group.
        lengths = np.array([len(ids) for ids in encoded["input_ids"]])
        order = np.argsort(-lengths, kind="stable")
        # A compiled model is given a few shapes only: lengths padded up to a bucket, and each bucket's
        # batches filled up to the same number of rows (the filler rows' results are dropped).
        padded_lengths = (np.array([bucket_length(int(length), self.max_length) for length in lengths])
                          if self.compiled else lengths)
        output = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        if self.path.name in ("bf16-autocast", "fp16-autocast"):
            # One autocast region for the group under no_grad: autocast then keeps its half-precision copies
            # of the weights until the region ends and casts them once per group. Under inference_mode it
            # casts every weight again for every batch (MiniLM: 22 M values per batch).
            context = torch.no_grad()
        else:  # the weights are already in the format they compute in
            context = torch.inference_mode()
        with context, self.base_precision.autocast() if "autocast" in self.path.name else nullcontext():
            for indices in token_budget_batches(order, padded_lengths, batch_size):
                features = {column: [encoded[column][index] for index in indices] for column in columns}
                rows = len(indices)
                if self.compiled:
                    full = min(batch_size, max(1, batch_size * TOKENS_PER_TEXT_BUDGET // int(padded_lengths[indices[0]])))
                    features = {column: values + [values[-1]] * (full - rows) for column, values in features.items()}
                    batch = self.tokenizer.pad(features, padding="max_length",
                                               max_length=int(padded_lengths[indices[0]]), return_tensors="pt")
                else:
                    batch = self.tokenizer.pad(features, return_tensors="pt")
                batch = {key: value.to(self.device) for key, value in batch.items()}
                logits = self._forward(batch)[:rows].float()
                output[indices] = transform(logits).cpu().numpy()
                if on_batch is not None:
                    on_batch(rows)
        return output

    def _forward(self, batch):
        if not self.compiled:
            return self.model(**batch).logits
        try:
            return self.model(**batch).logits
        except Exception as error:  # inductor compiles at the first call of each shape: no compiler, a bug …
            if is_out_of_memory(error):
                raise
            self.model, self.compiled = self.eager_model, False
            self.path_note = fall_back(f"torch.compile failed ({first_line(error)})")
            self.precision = self._described_precision()
            return self.model(**batch).logits

    def _described_precision(self) -> Precision:
        """The number format and why, followed by the path that computes in it (what the label summary,
        the provenance file and the Review tab show)."""
        base = self.base_precision
        return Precision(base.name, base.device,
                         f"{base.reason} — {describe_path(self.path, self.compiled, self.path_note)}")

    def describe(self) -> str:
        """A one-line description for logs and the command line."""
        parts = [f"{self.name_or_path}: labels {', '.join(self.labels)}", f"base {self.base_model}",
                 f"on {self.device} in {self.precision.describe()}", f"text normalisation: {self.normalisation}"]
        metrics = (self.training_summary or {}).get("best_metrics") or {}
        if "f1" in metrics and "accuracy" in metrics:
            parts.append(f"validation accuracy {metrics['accuracy']:.3f}, macro F1 {metrics['f1']:.3f}")
        if self.multi_label:
            parts.append("thresholds " + ", ".join(f"{label} {threshold:.3f}"
                                                    for label, threshold in self.category_thresholds.items())
                         + (f" ({self.operating_point.rule} on validation)" if self.operating_point else " (default)"))
        if self.default_threshold is not None:
            parts.append(f"threshold {self.default_threshold:.3f} on P({self.positive_label}) "
                         f"({self.operating_point.rule} on validation)")
        return "; ".join(parts)


# ----------------------------------------------------------------------------------- helpers
def token_budget_batches(order: np.ndarray, lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of `order` (indices sorted longest first): each at most `batch_size` long
    and, padded to its first (longest) text, at most batch_size * TOKENS_PER_TEXT_BUDGET tokens."""
    budget = batch_size * TOKENS_PER_TEXT_BUDGET
    start = 0
    while start < len(order):
        rows = min(batch_size, max(1, budget // max(1, int(lengths[order[start]]))))
        yield order[start:start + rows]
        start += rows


