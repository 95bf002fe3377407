"""What the engine does differently in a multi-label run (`TrainingConfig.categories`): the loss, the class
weights, the validation pass and an epoch's metrics. Each row's target is a vector over the categories of
1 (yes), 0 (no) and UNKNOWN (-1: its source does not label that category, core/training/category_data).

The loss is binary cross-entropy with logits per category, averaged over the known (row, category) pairs
only: an unknown pair is out of the loss by `torch.where`, so its target moves neither the loss nor any
gradient (tests/test_multi_label_training.py checks that on a tiny model). Class weighting "balanced" weighs
each category's yes- and no-entries as scikit-learn's "balanced" weighs a single-label run's classes (on the
category's known rows), and the loss is then their weighted mean, as torch's weighted cross-entropy is: each
category pulls on the shared encoder in proportion to its known rows, whatever its prevalence. (torch's
`pos_weight` would not normalise: a rare category's loss would be scaled up several times against a common
one's, which cost the offensive category of the two-category benchmark several points of F1.) The metrics of a category are those
of core/evaluation/categories on its known validation rows, at 0.5 on the uncalibrated sigmoid (as a
single-label epoch takes the most probable label; the operating point calibrates at the end)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from moderator_app.core.evaluation.categories import UNKNOWN, macro_f1, per_category_metrics
from moderator_app.core.training import distributed


def masked_bce(logits, targets, class_weights=None):
    """Mean binary cross-entropy with logits over the known entries of `targets` (rows × categories; an
    entry < 0 is unknown and contributes nothing, to the loss or to any gradient). With `class_weights`
    (2 × categories: the weight of a no-entry, of a yes-entry) the weighted mean."""
    total, weight = _weighted_bce(logits, targets, class_weights)
    return total / weight.clamp(min=1e-12)


def _weighted_bce(logits, targets, class_weights=None):
    """The weighted sum of the known entries' losses and the sum of their weights."""
    import torch

    known = targets >= 0
    safe = torch.where(known, targets, torch.zeros_like(targets))  # any value: its loss is discarded below
    losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, safe, reduction="none")
    weights = known.to(losses.dtype)
    if class_weights is not None:
        weights = weights * torch.where(safe > 0.5, class_weights[1], class_weights[0])
    return (losses * weights).sum(), weights.sum()


def multi_label_loss(model, batch: dict, class_weights=None):
    """A batch's masked loss (the model's own multi-label loss would count the unknowns as targets)."""
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    return masked_bce(model(**inputs).logits.float(), batch["labels"].float(), class_weights)


def category_class_weights(train_targets: Sequence[Sequence[float]], rule: str) -> list[list[float]] | None:
    """None for "none"; for "balanced", [no-weights, yes-weights] over the categories: a category's known
    rows over twice its no-rows and twice its yes-rows (scikit-learn's `compute_class_weight("balanced")`
    on that category's known rows; 1 where a side is empty)."""
    if rule == "none":
        return None
    targets = np.asarray(train_targets, dtype=np.float64)
    yes, no = (targets == 1).sum(axis=0), (targets == 0).sum(axis=0)
    balanced = [(float((y + n) / (2 * n)), float((y + n) / (2 * y))) if y and n else (1.0, 1.0)
                for y, n in zip(yes, no)]
    return [[pair[0] for pair in balanced], [pair[1] for pair in balanced]]


def evaluate_multi_label(model, val_set, lengths: list[int], collate, batch_size: int, device: str, autocast: dict,
                         num_categories: int, class_weights=None, cluster: distributed.Cluster = distributed.Cluster()):
    """Validation loss (the masked loss over all known entries) and the logits and targets of every
    validation row in the validation set's order (numpy, rows × categories); batches of similar length."""
    import torch

    model.eval()
    by_length = sorted(range(len(val_set)), key=lengths.__getitem__)
    every_batch = [by_length[start:start + batch_size] for start in range(0, len(by_length), batch_size)]
    loader = torch.utils.data.DataLoader(val_set, batch_sampler=cluster.own_batches(every_batch), collate_fn=collate,
                                         generator=torch.Generator())
    loss_sum, known_sum = torch.zeros((), device=device), torch.zeros((), device=device)
    all_logits = [torch.empty(0, device=device)]
    all_targets = [torch.empty(0, device=device)]
    with torch.inference_mode(), torch.autocast(**autocast):
        for batch in loader:
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            targets = batch.pop("labels").float()
            logits = model(**batch).logits.float()
            batch_sum, batch_weight = _weighted_bce(logits, targets, class_weights)
            loss_sum += batch_sum
            known_sum += batch_weight
            all_logits.append(logits.reshape(-1))
            all_targets.append(targets.reshape(-1))
    model.train()
    logits = cluster.gather(torch.cat(all_logits)).reshape(-1, num_categories).cpu().numpy()
    targets = cluster.gather(torch.cat(all_targets)).reshape(-1, num_categories).cpu().numpy()
    world = getattr(cluster, "world_size", 1) if cluster.is_distributed else 1
    gathered_rows = [row for rank in range(world) for batch in every_batch[rank::world] for row in batch]
    in_order = np.empty(len(val_set), dtype=int)
    in_order[gathered_rows] = np.arange(len(gathered_rows))
    val_loss = (cluster.sum(loss_sum) / cluster.sum(known_sum).clamp(min=1e-12)).item()
    return val_loss, logits[in_order], targets[in_order].round().astype(int)


def epoch_figures(logits: np.ndarray, targets: np.ndarray, categories: list[str], sources: Sequence[int],
                  source_names: Sequence[str]) -> dict[str, Any]:
    """An epoch's validation figures: per category (precision, recall, F1, AP, prevalence on its known rows,
    its degenerate-model warning), their macro means in the fields every epoch has (accuracy: the mean
    of the categories' accuracies; the baseline: the mean of their majority baselines), per source the
    same, and the warnings joined, each naming its category."""
    from scipy.special import expit

    probabilities = expit(np.asarray(logits, dtype=np.float64))
    per_category = per_category_metrics(targets, probabilities, categories)
    names = [source_names[index] for index in sources] if source_names else None
    by_source = per_category_metrics(targets, probabilities, categories, groups=names) if names else {}
    accuracy, baseline = _accuracy_and_baseline(targets, probabilities)
    warnings = [f"{name}: {entry['warning']}" for name, entry in per_category.items() if entry["warning"]]
    figures = dict(accuracy=accuracy, majority_baseline=baseline, f1=macro_f1(per_category),
                   precision=_mean(entry["precision"] for entry in per_category.values()),
                   recall=_mean(entry["recall"] for entry in per_category.values()),
                   categories={name: _plain(entry) for name, entry in per_category.items()},
                   warning=" ".join(warnings) or None, per_source={})
    for position, name in enumerate(source_names or []):
        rows = np.asarray(sources) == position
        if not rows.any():
            continue
        scores = {category: _plain(by_source[category]["by"].get(name, {})) for category in categories}
        known = {category: entry for category, entry in scores.items() if entry.get("known_rows")}
        source_accuracy, source_baseline = _accuracy_and_baseline(targets[rows], probabilities[rows])
        figures["per_source"][name] = dict(
            n=int(rows.sum()), accuracy=source_accuracy, majority_baseline=source_baseline, confusion_matrix=[],
            f1=macro_f1(known), precision=_mean(entry["precision"] for entry in known.values()),
            recall=_mean(entry["recall"] for entry in known.values()), categories=known)
    return figures


def _accuracy_and_baseline(targets: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    accuracies, baselines = [], []
    for index in range(targets.shape[1]):
        known = targets[:, index] != UNKNOWN
        if known.any():
            truth = targets[known, index]
            accuracies.append(float(((probabilities[known, index] >= 0.5) == (truth == 1)).mean()))
            baselines.append(float(max(truth.mean(), 1 - truth.mean())))
    return _mean(accuracies), _mean(baselines)


def _mean(values) -> float:
    values = [value for value in values if value is not None]
    return float(np.mean(values)) if values else 0.0


def _plain(entry: dict[str, Any]) -> dict[str, Any]:
    """A category's figures without the per-group breakdown (what an epoch record keeps)."""
    return {key: value for key, value in entry.items() if key != "by"}
