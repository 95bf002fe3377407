"""The errors a user can do something about, and the one place that turns any failure into words.

Core code raises a `UserError` (or a subclass) with a message in neutral words and, where a setting is
what to change, a `hint` that names it by its *field name* in braces: ``"Choose the text column with
{text_column}."``. Core never names a CLI flag or a widget: each front end renders the braces its own
way (`commands` as ``--text-column``, `gui` as the label on screen) through `UserError.render`.

`describe_failure(exception)` is the single mapper from *any* exception to a `Failure` (a one-line
message, the rendered hint, whether it was the user's input, and details for a "Show details" box). It
replaces the per-front-end mappers and the out-of-memory checks they each had.
"""

from __future__ import annotations

import errno
import re
import reprlib
import traceback
from dataclasses import dataclass
from typing import Callable

SettingNamer = Callable[[str], str]


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = \
    3, 6, 4, 80, 80


def shown(value) -> str:
    """A user's value as a message quotes it: repr(), cut short, so that a huge or deeply nested value
    (a JSON file of brackets inside brackets) is a few characters and never a RecursionError."""
    return _SHORT_REPR.repr(value)


def quote_setting(field_name: str) -> str:
    """The neutral rendering: the setting's field name in quotes (used by core's own str())."""
    return f"'{field_name}'"


# Only ``{identifier}`` names a setting and ``{{``/``}}`` are escaped braces; any other brace (a user's
# path, a label value) is left as written, so quoting user text can never break the message.
_SETTING = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]*)\}")


def _name_settings(text: str, name_setting: SettingNamer) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return name_setting(match.group(1))

    return _SETTING.sub(replace, text)


class UserError(Exception):
    """Something the user can fix. `message` says what is wrong (naming the file, row, column or
    setting); `hint` says what to do, naming settings as ``{field_name}``."""

    #: the short title a dialog shows above the message
    title = "Cannot continue"

    def __init__(self, message: str, hint: str | None = None, *, setting: str | None = None):
        self.message = message.strip()
        self.hint = hint.strip() if hint else None
        self.setting = setting  # the setting at fault, when there is one (forms mark that field)
        super().__init__(self.render(quote_setting))

    def __reduce__(self):
        # Subclasses take other constructor arguments; rebuild from the attributes, so that an error
        # raised in the training process arrives in the app as the same class with the same hint.
        return _rebuild_user_error, (type(self), self.args, self.__dict__)

    def render(self, name_setting: SettingNamer = quote_setting) -> str:
        """Message and hint as one line, settings named by `name_setting`."""
        message = _name_settings(self.message, name_setting)
        hint = self.render_hint(name_setting)
        return f"{message} {hint}" if hint else message

    def render_hint(self, name_setting: SettingNamer = quote_setting) -> str:
        return _name_settings(self.hint, name_setting) if self.hint else ""


def _rebuild_user_error(cls: type, args: tuple, state: dict) -> UserError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class DataError(UserError):
    """A data file that cannot be used as it is: unreadable, malformed, wrong columns or labels."""
    title = "Data problem"


class SettingsError(UserError):
    """A setting whose value cannot work (out of range, not finite, conflicting with another)."""
    title = "Invalid setting"


class ModelNotUsableError(UserError):
    """A model folder or hub id that cannot be loaded for this purpose."""
    title = "Model cannot be used"


class OutputNotWritableError(UserError):
    """An output file or folder that cannot be written, or must not be (it holds something of the user's)."""
    title = "Cannot write the output"


class StoreNotWritableError(UserError):
    """The decision store cannot be opened or written."""
    title = "Decisions cannot be saved"


class ResourceExhaustedError(UserError):
    """Out of memory (host or GPU) or out of disk space."""
    title = "Out of resources"


@dataclass(frozen=True)
class Failure:
    """What a front end shows for an exception."""
    title: str
    message: str          # one line, settings already named by the front end
    is_user_error: bool   # True: bad input the user can fix (CLI exit 2); False: a fault of ours
    details: str          # the traceback text, for a details box; never printed by the CLI


def is_out_of_memory(error: BaseException) -> bool:
    """Host MemoryError, torch.OutOfMemoryError (CUDA, MPS) or an allocator's "out of memory" RuntimeError;
    checked by name so that torch need not be imported."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


# How libraries that are not Python say "disk full": Rust's io::Error (safetensors) and C's strerror
_DISK_FULL_WORDS = ("no space left on device", "os error 28", "disk quota exceeded", "os error 122")


def is_disk_full(error: BaseException) -> bool:
    """ENOSPC/EDQUOT, also when a library re-raises it as its own error (safetensors' SafetensorError
    "No space left on device (os error 28)")."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    if isinstance(error, UserError):  # already in words; a path or a label might hold these words
        return False
    return any(words in str(error).lower() for words in _DISK_FULL_WORDS)


def describe_failure(error: BaseException, name_setting: SettingNamer = quote_setting) -> Failure:
    """Any exception → a `Failure`. UserErrors speak for themselves; the known library failures
    (memory, disk, permissions, undecodable text) get a sentence naming what is affected; anything
    else is a fault of ours, named by its type."""
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if isinstance(error, UserError):
        return Failure(error.title, error.render(name_setting), True, details)
    if is_out_of_memory(error):
        where = "GPU" if "cuda" in str(error).lower() else "computer"
        hint = UserError("", "Lower {train_batch_size} or {max_length} (for labelling, {batch_size}) and try "
                             "again.").render_hint(name_setting)
        return Failure(ResourceExhaustedError.title, f"The {where} ran out of memory. {hint}", True, details)
    if isinstance(error, OSError):
        return Failure(*_describe_os_error(error), True, details)
    if is_disk_full(error):
        return Failure(ResourceExhaustedError.title, "No space left on the disk while writing "
                       f"({type(error).__name__}). Free some space or choose another folder.", True, details)
    if isinstance(error, RecursionError):
        return Failure(DataError.title, "An input is nested too deeply to read (brackets inside brackets, about a "
                                        "thousand levels deep, as in a damaged or hostile JSON file). Check the "
                                        "files given.", True, details)
    if isinstance(error, UnicodeError):
        return Failure(DataError.title, f"Text that is not valid in its encoding: {error}. Save the file as "
                                        "UTF-8 and try again.", True, details)
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    message = f"Unexpected error: {type(error).__name__}" + (f": {first_line}" if first_line else "")
    return Failure("Unexpected error", message, False, details)


def _describe_os_error(error: OSError) -> tuple[str, str]:
    name = error.filename or "a file"
    if is_disk_full(error):
        where = f" while writing {error.filename}" if error.filename else ""
        return ResourceExhaustedError.title, f"No space left on the disk{where}. Free some space or choose another folder."
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputNotWritableError.title, f"Permission denied: {name}. Choose a file or folder you can write to."
    if error.errno == errno.ENOENT:
        return DataError.title, f"No such file or folder: {name}."
    if error.errno == errno.EISDIR:
        return DataError.title, f"{name} is a folder, not a file."
    if error.errno == errno.ENOTDIR:
        return DataError.title, f"{name}: a part of this path is a file, not a folder."
    reason = error.strerror or str(error)
    return "Cannot read or write a file", f"{name}: {reason}."
