"""UserErrors whose message quotes the user's own text (paths, column names, label values).

A UserError's message may name settings as ``{field_name}``, so braces in quoted text (a label value
``{x}``, a JSON label map) would be read as such: these constructors double them first."""

from __future__ import annotations

from moderator_app.core.errors import DataError, ModelNotUsableError, OutputNotWritableError, SettingsError


def literal(text: str) -> str:
    """`text` shown as it is in a UserError message."""
    return text.replace("{", "{{").replace("}", "}}")


def data_error(message: str, hint: str | None = None, *, setting: str | None = None) -> DataError:
    return DataError(literal(message), hint, setting=setting)


def settings_error(message: str, hint: str | None = None, *, setting: str | None = None) -> SettingsError:
    return SettingsError(literal(message), hint, setting=setting)


def model_error(message: str, hint: str | None = None) -> ModelNotUsableError:
    return ModelNotUsableError(literal(message), hint)


def output_error(message: str, hint: str | None = None) -> OutputNotWritableError:
    return OutputNotWritableError(literal(message), hint)
