"""What a labelled file was labelled with, written beside it as `OUTPUT.provenance.json`.

The labelled file keeps exactly the input's columns plus the labeller's (so every labeller, the CLI,
the Review tab and a distributed one, writes the same columns); the sidecar says which model (its
folder or hub id and its identity, the hash the decision store keys decisions by), which labels,
which threshold and where it came from (the model's calibrated operating point, `--threshold`, the
Review tab's slider, or none: the most probable label), the number format, the app's version, when,
from which input, and how many rows. It is written and claimed together with the output
(core.files.atomic.atomic_outputs): both appear, or neither."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from moderator_app import __version__

PROVENANCE_SUFFIX = ".provenance.json"
FORMAT_VERSION = 1
# where the threshold came from
CALIBRATED = "calibrated (operating_point.json)"
GIVEN = "--threshold"
SLIDER = "Review tab's threshold slider"
MOST_PROBABLE = "none: the most probable label"


def provenance_path(output_path: str | Path) -> Path:
    """`comments.labelled.csv` -> `comments.labelled.csv.provenance.json`, beside it."""
    output = Path(output_path)
    return output.with_name(output.name + PROVENANCE_SUFFIX)


def threshold_source(threshold: float | None, calibrated: float | None, given: str | None = None) -> str:
    """Where `threshold` came from: `given` (a caller's own word, e.g. the slider or --threshold) unless
    it is None (the most probable label) or the model's own calibrated threshold."""
    if threshold is None:
        return MOST_PROBABLE
    if calibrated is not None and threshold == calibrated:
        return CALIBRATED
    return given or GIVEN


def labelling_record(summary, classifier, threshold: float | None, source: str, identity: str,
                     input_path: str | Path, category_thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """The sidecar's content for a finished `summary` (core.inference.labelling.LabelSummary); a
    multi-label model's thresholds are those used: its saved ones, with `category_thresholds`' in place of
    those it names."""
    precision = getattr(classifier, "precision", None)
    return {
        "format": FORMAT_VERSION,
        "app": f"moderator-app {__version__}",
        "labelled_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": str(Path(input_path).resolve()),
        "output": str(Path(summary.output_path).resolve()),
        "text_column": summary.text_column,
        "model": classifier.name_or_path,
        "model_identity": identity,
        "labels": list(classifier.labels),
        "flagged_label": classifier.positive_label,
        "threshold": threshold,
        "threshold_source": source,
        **({"category_thresholds": classifier.category_thresholds_with(category_thresholds)}
           if getattr(classifier, "multi_label", False) else {}),
        "precision": precision.describe() if hasattr(precision, "describe") else str(precision or ""),
        "text_normalisation": getattr(classifier, "normalisation", ""),
        "rows": summary.rows,
        "label_counts": dict(summary.label_counts),
        "empty_texts": summary.empty_texts,
        "unreadable_rows_left_out": len(summary.bad_rows),
        "blank_lines_skipped": summary.blank_lines,
    }


def write_record(path: Path, record: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def read_provenance(output_path: str | Path) -> dict[str, Any]:
    return json.loads(provenance_path(output_path).read_text(encoding="utf-8"))
