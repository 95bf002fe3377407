"""How the window puts any failure into words: `core.errors.describe_failure`, with the settings a
hint names (``{field_name}``) rendered as the label the user sees on screen, in quotes."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from moderator_app.core import config
from moderator_app.core.errors import Failure, describe_failure
from moderator_app.gui.common import dialogs

# settings that are not training settings, by the labels of the widgets that set them
OTHER_SETTING_LABELS = {
    "allow_pickle": "Allow pickle weights",
    "text_column": "Text column",
    "threshold": "Threshold",
    "batch_size": "Batch size",
    "output": "Output file",
    "overwrite": "Replace the existing file",
    "by": "Group by",
}


def setting_label_for_gui(field_name: str) -> str:
    """A setting's on-screen label in quotes: the training form's label from the config metadata,
    a Review tab widget's, or a readable form of the field name."""
    label = OTHER_SETTING_LABELS.get(field_name)
    if label is None:
        setting_label = getattr(config, "setting_label", None)  # the config's metadata, where it has labels
        label = setting_label(field_name) if setting_label is not None else field_name.replace("_", " ")
    label = label[:1].upper() + label[1:]
    return f"\"{label}\""


def describe(error: BaseException) -> Failure:
    return describe_failure(error, setting_label_for_gui)


def show_failure(parent: QWidget, error: BaseException, title: str | None = None) -> QMessageBox:
    """A non-blocking error box for `error`, its traceback under "Show details"."""
    failure = describe(error)
    return dialogs.show_error(parent, title or failure.title, failure.message, failure.details)
