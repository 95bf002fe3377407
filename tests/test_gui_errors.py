"""What the window says about failures: core's hints name settings as {field}, and the GUI renders
them as the labels on screen, never as CLI flags."""

from __future__ import annotations

import errno
from dataclasses import fields

import pytest

from moderator_app.core import errors
from moderator_app.core.config import TrainingConfig
from moderator_app.gui.common.errors import OTHER_SETTING_LABELS, describe, setting_label_for_gui

USER_ERRORS = [errors.UserError, *errors.UserError.__subclasses__()]
SETTINGS = [spec.name for spec in fields(TrainingConfig)] + sorted(OTHER_SETTING_LABELS) + ["some_new_setting"]


@pytest.mark.parametrize("kind", USER_ERRORS, ids=lambda kind: kind.__name__)
def test_no_message_the_gui_shows_names_a_cli_flag(kind):
    for field in SETTINGS:
        error = kind(f"The value of {{{field}}} cannot be used.", f"Change {{{field}}} and try again.", setting=field)
        failure = describe(error)
        assert "--" not in failure.message and "{" not in failure.message, failure.message
        assert failure.message.count(setting_label_for_gui(field)) == 2 and failure.is_user_error


def test_library_failures_name_settings_on_screen_too():
    for error in (MemoryError(), RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"),
                  OSError(errno.ENOSPC, "No space left on device", "/data/out.csv"),
                  OSError(errno.EACCES, "Permission denied", "/data/out.csv"),
                  UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
                  ValueError("something of ours went wrong")):
        message = describe(error).message
        assert "--" not in message and "{" not in message, message
    assert "batch size" in describe(MemoryError()).message.lower()


def test_setting_labels_are_quoted_and_readable():
    assert setting_label_for_gui("allow_pickle") == '"Allow pickle weights"'
    assert setting_label_for_gui("some_new_setting") == '"Some new setting"'
    label = setting_label_for_gui("learning_rate")
    assert label.startswith('"') and label.endswith('"') and "_" not in label and "rate" in label.lower()
