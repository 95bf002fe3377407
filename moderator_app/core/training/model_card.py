"""What a trained model folder holds besides the Hugging Face files: the training summary
(machine-readable) and a README.md model card in the shape of the published recipe's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moderator_app import __version__
from moderator_app.core.config import TrainingConfig
from moderator_app.core.sources import describe_label_map, parse_vote_columns, training_sources
from moderator_app.core.text.normalise import describe_normalisation
from moderator_app.core.training.category_data import describe_rules
from moderator_app.core.training.evasion import training_families
from moderator_app.core.training.run_folder import CARD_FILE, SUMMARY_FILE


def framework_versions() -> dict[str, str]:
    import datasets
    import tokenizers
    import torch
    import transformers

    return {"moderator-app": __version__, "Transformers": transformers.__version__, "Pytorch": torch.__version__,
            "Datasets": datasets.__version__, "Tokenizers": tokenizers.__version__}


def write_summary(folder: Path, config: TrainingConfig, labels: list[str], best_epoch: int | None,
                  best_metrics: dict[str, Any], history: list[dict[str, Any]], reason: str,
                  data_report: dict[str, Any] | None) -> None:
    summary = {"base_model": config.model_name_or_path, "labels": labels, "best_epoch": best_epoch,
               "best_metrics": best_metrics, "epochs": history, "stop_reason": reason,
               "data": data_report, "framework_versions": framework_versions()}
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")


def write_model_card(folder: Path, config: TrainingConfig, labels: list[str], best_epoch: int | None,
                     history: list[dict[str, Any]], reason: str, precision: str, precision_reason: str = "",
                     compilation: str = "") -> None:
    name = Path(config.output_dir).name or "model"
    best = next((row for row in history if row["epoch"] == best_epoch), None)
    lines = ["---", f"base_model: {config.model_name_or_path}", "library_name: transformers",
             "pipeline_tag: text-classification", "tags:", "- generated_from_moderator_app", "---", "",
             f"# {name}", "",
             f"This model is a fine-tuned version of [{config.model_name_or_path}]"
             f"({_link(config.model_name_or_path)}) on {_data_names(config)}.",
             f"Labels: {', '.join(labels)}."]
    if best:
        lines += ["It achieves the following results on the evaluation set (best epoch, "
                  f"{best_epoch}):", f"- Loss: {best['val_loss']:.4f}",
                  f"- Accuracy: {best['accuracy']:.4f}", f"- F1 (macro): {best['f1']:.4f}",
                  # its own line: readers of the card (core.inference.model_info) take "- Name: number" lines
                  f"- Majority-class baseline (accuracy): {best.get('majority_baseline', 0.0):.4f}"]
        if best.get("warning") and best.get("categories"):
            lines += ["", "## Warning: a category has not been learned", "", best["warning"]]
        elif best.get("warning"):
            lines += ["", "## Warning: this model has not learned the task", "", best["warning"]]
    lines += _categories_section(best, history)
    lines += _sources_section(config, best)
    lines += ["", "## Training procedure", "", "### Training hyperparameters", "",
              "The following hyperparameters were used during training:",
              f"- learning_rate: {config.learning_rate:g}",
              f"- train_batch_size: {config.train_batch_size}",
              f"- eval_batch_size: {config.eval_batch_size}",
              f"- seed: {config.seed}",
              f"- optimizer: Adam with betas=({config.adam_beta1},{config.adam_beta2}) and "
              f"epsilon={config.adam_epsilon:g}, weight decay {config.weight_decay:g}",
              f"- lr_scheduler_type: {config.lr_scheduler}",
              f"- lr_scheduler_warmup_steps: {config.warmup_steps}",
              f"- num_epochs: {config.num_epochs}",
              f"- max_length: {config.max_length}",
              f"- class_weighting: {getattr(config, 'class_weighting', 'none')}",
              f"- evasion_augment: {getattr(config, 'evasion_augment', 0.0):g}"
              + (" (that share of the training texts got an obfuscated copy each epoch)"
                 if getattr(config, "evasion_augment", 0.0) else " (off)"),
              *([f"- evasion_families: {', '.join(training_families(config))} "
                 f"({getattr(config, 'evasion_families', 'all')}: one kind per copy, each equally often)"]
                if getattr(config, "evasion_augment", 0.0) else []),
              "- text_normalisation at inference: " + describe_normalisation(
                  getattr(config, "normalise_text", True), getattr(config, "normalise_evasion", False)),
              f"- early_stopping: validation loss, patience {config.early_stopping_patience}",
              f"- mixed_precision_training: {_precision_text(precision)}"
              + (f" ({precision_reason})" if precision_reason else ""),
              f"- compilation: {compilation or ('on' if getattr(config, 'compile_model', False) else 'off')}",
              "", "### Training results", "",
              "| Training Loss | Epoch | Step | Validation Loss | Accuracy | F1 |",
              "|:-------------:|:-----:|:----:|:---------------:|:--------:|:--:|"]
    for row in history:
        mark = " **(best)**" if row["epoch"] == best_epoch else ""
        lines.append(f"| {row['train_loss']:.4f} | {row['epoch']:.1f}{mark} | {row['global_step']} | "
                     f"{row['val_loss']:.4f} | {row['accuracy']:.4f} | {row['f1']:.4f} |")
    ended = {"completed": "ran all epochs", "early_stopping": "stopped early: validation loss stopped improving",
             "stopped": "stopped by the user (resumable)"}.get(reason, reason)
    lines += ["", f"Training {ended}. The weights in this folder are those of epoch {best_epoch}."
              if best_epoch else f"Training {ended} before the first epoch ended.", "",
              "### Framework versions", ""]
    lines += [f"- {package} {version}" for package, version in framework_versions().items()]
    (folder / CARD_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _data_names(config: TrainingConfig) -> str:
    return ", ".join(Path(source.path).name or source.path for source in training_sources(config))


def _sources_section(config: TrainingConfig, best: dict[str, Any] | None) -> list[str]:
    """The training sources, how each was read, and the best epoch's metrics on each one's validation rows."""
    if not config.sources:
        return []
    per_source = (best or {}).get("per_source", {})
    lines = ["", "## Training sources", "",
             "Each source was split for validation on its own (stratified); the metrics are the best epoch's on "
             "that source's validation rows.", "",
             "| Source | File | Label map | Weight | Max rows | n | Accuracy | Baseline | F1 (macro) |",
             "|:--|:--|:--|--:|--:|--:|--:|--:|--:|"]
    for source in training_sources(config):
        scores = per_source.get(source.name)
        numbers = (f"{scores['n']} | {scores['accuracy']:.4f} | {scores['majority_baseline']:.4f} | "
                   f"{scores['f1']:.4f}" if scores else "– | – | – | –")
        label_map = (describe_rules(source.categories) if source.categories
                     else describe_label_map(source.label_map)).replace("|", "\\|")
        lines.append(f"| {source.name} | {Path(source.path).name} | {label_map} | {source.weight:g} | "
                     f"{source.max_rows or 'all'} | {numbers} |")
    voted = [source for source in training_sources(config) if source.vote_columns]
    if voted:  # labels from annotator disagreement (core/training/votes)
        lines.append("")
        lines += [f"- {source.name} votes: {source.votes or 'soft'}, from "
                  + ", ".join(f"{column} → {label or 'not counted'}"
                              for column, label in parse_vote_columns(source.vote_columns).items())
                  for source in voted]
    return lines


def _categories_section(best: dict[str, Any] | None, history: list[dict[str, Any]]) -> list[str]:
    """A multi-label run's figures per category: the best epoch's on each category's known validation rows
    (at 0.5 before calibration; the operating point's section below has them at each category's threshold),
    and each category's F1 epoch by epoch."""
    if not best or not best.get("categories"):
        return []
    lines = ["", "## Categories", "",
             "Multi-label: one sigmoid per category, trained with binary cross-entropy on the rows whose source "
             "labels that category (a category a source does not label is unknown for its rows: out of the loss "
             "and of that category's figures). The best epoch's figures at 0.5, on each category's known "
             "validation rows, beside its prevalence (the precision of flagging every row):", "",
             "| Category | Known rows | Prevalence | Precision | Recall | F1 | AP |",
             "|:--|--:|--:|--:|--:|--:|--:|"]
    for name, scores in best["categories"].items():
        lines.append(f"| {name} | {scores['known_rows']:,} | {_number(scores['prevalence'])} | "
                     f"{_number(scores['precision'])} | {_number(scores['recall'])} | {_number(scores['f1'])} | "
                     f"{_number(scores['ap'])} |")
    lines += ["", "F1 per category, epoch by epoch: " + "; ".join(
        f"{name} " + ", ".join(_number((row.get("categories") or {}).get(name, {}).get("f1")) for row in history)
        for name in best["categories"]) + "."]
    return lines


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _link(model: str) -> str:
    return model if Path(model).exists() else f"https://huggingface.co/{model}"


def _precision_text(precision: str) -> str:
    return {"fp16": "Native AMP (fp16 autocast with loss scaling)", "bf16": "Native AMP (bf16 autocast)",
            "fp32": "none (fp32)"}.get(precision, precision)
