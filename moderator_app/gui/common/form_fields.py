"""`editor_for`: the editor each TrainingConfig field's metadata (core.config's FIELD_SPECS) asks for,
with the few texts only the form shows (checkbox captions, placeholders, file dialogs' titles)."""

from __future__ import annotations

from typing import Callable, Sequence

from moderator_app.core.config import FIELD_SPECS
from moderator_app.gui.common.fields import (BoolField, ChoiceField, ColumnField, FieldEditor, FloatField, IntField,
                                             TextField)
from moderator_app.gui.common.file_fields import FileListField, ModelField, PathField

# What the form shows beside a checkbox and in empty text fields; labels, help and ranges are core's.
CHECKBOX_TEXTS = {"group_by_length": "Group texts of similar length",
                  "compile_model": "Compile the training step (torch.compile)",
                  "save_checkpoint_every_epoch": "Write a checkpoint every epoch",
                  "allow_pickle": "only from a source I trust",
                  "treat_na_labels_as_missing": "NaN, null, N/A … are missing",
                  "normalise_text": "NFKC and no zero-width characters when classifying",
                  "normalise_evasion": "read 'h4te', 'i d i o t' and look-alike letters as plain words"}
PATH_FIELDS = {  # name: (file or folder, remembered-folder key, placeholder, dialog title)
    "train_file": ("file", "data", "CSV, TSV, JSON Lines or Parquet", "Choose the training data"),
    "validation_file": ("file", "data", "optional: a split of the training data otherwise",
                        "Choose the validation data"),
    "output_dir": ("folder", "output", "folder for the trained model", "Choose the output folder"),
}


TEXT_PLACEHOLDERS = {"threshold_rule": "best_f1, precision>=0.9 or recall>=0.8"}


def editor_for(name: str) -> FieldEditor:
    """The editor a TrainingConfig field's metadata asks for."""
    spec = FIELD_SPECS[name]
    label = spec["label"]
    if name in PATH_FIELDS:
        return PathField(name, label, *PATH_FIELDS[name])
    if name == "model_name_or_path":
        return ModelField(name, label)
    if name in ("text_column", "label_column"):
        return ColumnField(name, label)
    if spec["choices"]:
        return ChoiceField(name, label, list(spec["choices"].items()))
    if spec["type"] is list:  # a list of files (test_suites)
        return FileListField(name, label, dialog_title="Choose test suites")
    if spec["type"] is str:
        return TextField(name, label, TEXT_PLACEHOLDERS.get(name, ""))
    if spec["type"] is bool:
        return BoolField(name, label, CHECKBOX_TEXTS.get(name, label))
    if spec["type"] is int:
        editor = IntField(name, label, int(spec["minimum"]), int(spec["maximum"]),
                          f" {spec['unit']}" if spec["unit"] else "")
        if name == "early_stopping_patience":
            editor.spin.setSpecialValueText("off")
        return editor
    return FloatField(name, label)


def connect_all(fields: Sequence[FieldEditor], callback: Callable[[], None]) -> None:
    for field in fields:
        field.edited.connect(callback)
