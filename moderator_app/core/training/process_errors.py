"""How a training process's failure reaches the process that started it: the error for a process
that ended without a result, and any error made fit to cross a process boundary. Shared by the one
training process (core/training/process.py) and the local data-parallel ones (local_processes.py)."""

from __future__ import annotations

import pickle
import traceback

from moderator_app.core.errors import UserError


class TrainingProcessError(UserError):
    """The training process ended without a result: killed (most often for want of memory), crashed,
    or could not start. The message says what to do."""
    title = "Training process ended"


def portable_error(error: BaseException) -> BaseException:
    """`error` if it survives pickling (with its traceback as text), else a RuntimeError that says it all."""
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        error.remote_traceback = details
        copy = pickle.loads(pickle.dumps(error))
        if type(copy) is type(error) and str(copy) == str(error):
            return error
    except Exception:  # noqa: BLE001 - any pickling failure means: send a plain copy instead
        pass
    plain = RuntimeError(f"{type(error).__name__}: {error}")  # a fault of ours: "Unexpected error" in the app
    plain.remote_traceback = details
    return plain
