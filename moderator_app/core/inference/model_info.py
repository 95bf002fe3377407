"""What a loaded classifier is, in words a reviewer needs: its labels, the flagged one, the base model,
where it runs, and the validation metrics recorded with it (the training summary of our runs, or the
model card of others)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ModelInfo:
    """What the Review tab's model panel shows about a loaded model."""

    model_id: str
    labels: list[str]
    positive_label: str | None
    base_model: str
    device: str
    max_length: int
    metrics: dict[str, float] = field(default_factory=dict)  # accuracy, f1, loss, …
    metrics_source: str = ""  # "training summary", "model card" or ""
    best_epoch: int | None = None
    train_rows: int | None = None
    identity: str = ""  # model_identity(): what decisions are keyed by
    precision: str = ""  # core.precision.Precision.describe(): the number format it computes in, and why
    normalisation: str = ""  # Classifier.normalisation: what is done to a text before the model reads it
    warning: str | None = None  # the model is degenerate (predicts one class, or no better than the baseline)


def model_source(name: str) -> str:
    """A local folder as an absolute path (the same model gets the same id in the decision store
    however it was typed), a hub id as it is."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name.strip()


WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
IDENTITY_CHUNK = 1 << 20


def model_identity(name_or_path: str, labels: list[str]) -> str:
    """What a model *is*, for keying decisions: a sha256 of its weight files' bytes and its labels
    (so a model retrained into the same folder is a new model, and a copied folder the same one).
    Streamed in 1 MiB chunks: a 330 MB DistilRoBERTa takes well under a second, in the load job.
    A hub model not in a local folder is identified by its id and labels."""
    digest = hashlib.sha256(json.dumps(labels).encode())
    folder = Path(name_or_path)
    weights = sorted({path for pattern in WEIGHT_PATTERNS for path in folder.glob(pattern)}) if folder.is_dir() else []
    if not weights:
        digest.update(name_or_path.encode())
    for path in weights:
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            while chunk := handle.read(IDENTITY_CHUNK):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()[:16]


def describe_model(classifier) -> ModelInfo:
    """The ModelInfo of a core.inference.classifier.Classifier."""
    info = ModelInfo(model_id=classifier.name_or_path, labels=list(classifier.labels),
                     positive_label=classifier.positive_label, base_model=str(classifier.base_model),
                     device=str(classifier.device), max_length=int(classifier.max_length),
                     identity=model_identity(classifier.name_or_path, list(classifier.labels)),
                     precision=classifier.precision.describe(),
                     normalisation=getattr(classifier, "normalisation", ""))
    summary = classifier.training_summary or {}
    metrics = summary.get("best_metrics") or {}
    if isinstance(metrics, dict) and metrics:
        info.metrics = {key: float(value) for key, value in metrics.items() if isinstance(value, (int, float))}
        info.metrics_source = "training summary"
        info.best_epoch = summary.get("best_epoch")
        data = summary.get("data") or {}
        if isinstance(data, dict) and isinstance(data.get("train_rows"), int):
            info.train_rows = data["train_rows"]
    else:
        card = model_card_path(classifier.name_or_path)
        if card is not None:
            info.metrics = card_metrics(card.read_text(encoding="utf-8", errors="replace"))
            info.metrics_source = "model card" if info.metrics else ""
    info.warning = degenerate_model_warning(classifier, summary)
    return info


def degenerate_model_warning(classifier, summary: dict) -> str | None:
    """The warning that the model has not learned the task: its operating point's (validation at the
    decision it will use), else its best epoch's in the training summary, else its model card's."""
    point = getattr(classifier, "operating_point", None)
    if point is not None and point.warning:
        return str(point.warning)
    best = summary.get("best_metrics") if isinstance(summary, dict) else None
    if isinstance(best, dict) and isinstance(best.get("warning"), str) and best["warning"]:
        return best["warning"]
    card = model_card_path(classifier.name_or_path)
    return card_warning(card.read_text(encoding="utf-8", errors="replace")) if card is not None else None


def card_warning(card: str) -> str | None:
    """The text of a model card's "## Warning…" section (as core.training.model_card writes it), or None."""
    lines = card.splitlines()
    start = next((index for index, line in enumerate(lines) if line.strip().lower().startswith("## warning")), None)
    if start is None:
        return None
    body = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        body.append(line.strip())
    text = " ".join(line for line in body if line).strip("* ")
    return text or None


def model_card_path(name_or_path: str) -> Path | None:
    """README.md of a model folder, or of a hub model in the local cache."""
    folder = Path(name_or_path)
    if folder.is_dir():
        card = folder / "README.md"
        return card if card.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name_or_path, "README.md")
    except Exception:  # not a valid repo id, no cache: no card
        return None
    return Path(found) if isinstance(found, str) else None


_CARD_METRIC = re.compile(r"^\s*-\s*([A-Za-z][\w ()\-]*?)\s*:\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
_CARD_NAMES = {"loss": "val_loss", "validation loss": "val_loss", "accuracy": "accuracy", "f1": "f1",
               "f1 (macro)": "f1", "macro f1": "f1", "precision": "precision", "recall": "recall"}


def card_metrics(card: str) -> dict[str, float]:
    """Evaluation results from a model card in the Trainer's shape ("It achieves the following results on
    the evaluation set:" then "- Loss: 0.53" lines), as ours and most fine-tuned hub models have."""
    lines = card.splitlines()
    start = next((index for index, line in enumerate(lines) if "following results on the evaluation set" in line),
                 None)
    if start is None:
        return {}
    found: dict[str, float] = {}
    for line in lines[start + 1:]:
        match = _CARD_METRIC.match(line)
        if not match:
            if found or line.strip().startswith("#"):
                break
            continue
        name = _CARD_NAMES.get(match.group(1).strip().lower())
        if name:
            found[name] = float(match.group(2))
    return found
