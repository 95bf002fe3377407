"""Evaluating a model of ours on the validation rows it was trained with: its training_config.json
read back and its data loaded and split again by `core.training.data.load_training_data`, exactly
as the trainer did (the split is seeded), so the rows are the ones its epoch table measured. With
several training sources each row's group is its source. Here rather than in core/evaluation because
it reloads a training run's data; the evaluation view's job for it is here too."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import ModelNotUsableError
from moderator_app.core.evaluation.file_evaluation import FileEvaluation, decision_threshold
from moderator_app.core.evaluation.jobs import KeepsProbabilities, Measured
from moderator_app.core.evaluation.labelled_data import LabelledRows
from moderator_app.core.evaluation.metrics import degenerate_warning, evaluate
from moderator_app.core.inference.shared_model import ModelHandle, batch_progress
from moderator_app.core.training.data import load_training_data
from moderator_app.core.training.run_folder import CONFIG_FILE

SOURCE_GROUP = "source"


def has_training_config(model_folder: str | Path) -> bool:
    return (Path(model_folder) / CONFIG_FILE).is_file()


def validation_rows(model_folder: str | Path, known_labels: list[str]) -> LabelledRows:
    """The validation rows of the run that wrote `model_folder`, with their labels' names; grouped by
    source when the run had several."""
    folder = Path(model_folder)
    if not has_training_config(folder):
        raise ModelNotUsableError(f"{folder} has no {CONFIG_FILE}, so its validation split is not known.",
                                  "Evaluate it on a labelled file instead.")
    loaded = load_training_data(TrainingConfig.load(folder / CONFIG_FILE))
    unknown = sorted(set(loaded.label_names) - set(known_labels))
    if unknown:
        raise ModelNotUsableError(f"The training data of {folder} now holds labels the model does not have "
                                  f"({', '.join(unknown)}): it has changed since the model was trained.",
                                  "Evaluate it on a labelled file instead.")
    texts = list(loaded.validation["text"])
    labels = [loaded.label_names[index] for index in loaded.validation["label"]]
    groups = [loaded.source_names[index] for index in loaded.validation_sources] if loaded.source_names else None
    return LabelledRows(source=f"the validation split of {folder.name}", text_column="text", label_column="label",
                        label_kind=loaded.report.label_kind, rows_read=len(texts), texts=texts, labels=labels,
                        groups=groups, group_column=SOURCE_GROUP if groups else None)


def evaluate_validation_split(classifier, model_folder: str | Path, *, by_source: bool = True,
                              threshold: float | None = None, batch_size: int | None = None,
                              on_batch: Callable[[int], None] | None = None) -> FileEvaluation:
    """As file_evaluation.evaluate_file, on the model's own validation split."""
    threshold, source = decision_threshold(classifier, threshold)
    rows = validation_rows(model_folder, list(classifier.labels))
    if not by_source:
        rows.groups, rows.group_column = None, None
    probabilities = classifier.predict_probabilities(rows.texts, batch_size, on_batch)
    result = evaluate(rows.labels, probabilities, classifier.labels, threshold=threshold, groups=rows.groups)
    return FileEvaluation(classifier.name_or_path, rows, result, source, degenerate_warning(result))


def measure_validation_split(handle: ModelHandle, by_source: bool, threshold: float | None, report,
                             cancelled) -> Measured:
    """Job: evaluate the model on the validation split of its own training run."""
    classifier = KeepsProbabilities(handle)
    result = evaluate_validation_split(classifier, handle.classifier.name_or_path, by_source=by_source,
                                       threshold=threshold, on_batch=batch_progress(report, cancelled))
    return Measured(result, classifier.probabilities)
