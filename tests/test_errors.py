"""core.errors: settings named by each front end, user text with braces left alone, any exception described."""

from __future__ import annotations

import errno

from moderator_app.core.errors import DataError, describe_failure


def test_settings_are_named_by_the_front_end_and_other_braces_stay():
    error = DataError("No column 'x' in /tmp/{odd name}/{{label}}.", "Choose one with {text_column}.")
    assert error.render(lambda field: "--" + field.replace("_", "-")) == (
        "No column 'x' in /tmp/{odd name}/{label}. Choose one with --text-column.")
    assert "'text_column'" in str(error)


def test_describe_failure_user_error_os_error_and_bug():
    assert describe_failure(DataError("Bad.", "Fix {max_length}."), str.upper).message == "Bad. Fix MAX_LENGTH."
    full = describe_failure(OSError(errno.ENOSPC, "No space left on device", "/out/model"))
    assert full.is_user_error and "/out/model" in full.message and "No space left" in full.message
    bug = describe_failure(KeyError("oops"))
    assert not bug.is_user_error and bug.message.startswith("Unexpected error: KeyError")
    assert describe_failure(MemoryError()).is_user_error
