"""Output files that appear whole or not at all, and never replace something unasked.

The output is written to a hidden temporary file beside the destination (same file system) and
claimed under its final name only when complete: by a hard link, which fails when the name exists,
so that two runs writing the same output cannot silently replace each other's result; with
`overwrite` by an atomic rename. A failed, cancelled, interrupted or terminated run deletes its
temporary file; one left by a killed process (kill -9, power loss) is recognised by our naming
pattern and its dead owner, and removed at the next start for the same output.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from moderator_app.core.errors import OutputNotWritableError, ResourceExhaustedError


class OutputExistsError(OutputNotWritableError):
    """The output name is taken (by the user's file or by another run that finished first)."""


def temporary_name_pattern(target: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(target.name)}\.(\d+)-[0-9a-f]{{8}}\.part$")


def process_is_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # cannot tell cheaply; Windows refuses to delete a file another process holds open anyway
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


def remove_stale_temporary_files(target: Path) -> list[Path]:
    """Delete temporary files of earlier runs for `target` whose process is gone; return them."""
    pattern = temporary_name_pattern(target)
    removed = []
    try:
        candidates = list(target.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match and candidate.is_file() and not process_is_alive(int(match.group(1))):
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                pass  # someone else's to clean
    return removed


def output_error(target: Path, error: OSError) -> OutputNotWritableError:
    """An OSError while writing `target` as one sentence naming the folder."""
    folder = target.parent
    if error.errno == errno.ENOSPC:
        return ResourceExhaustedError(f"No space left on the disk while writing {target} (folder {folder}).",
                                      "Free some space or choose an output in another folder.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputNotWritableError(f"{folder}: this folder cannot be written to ({error.strerror}).",
                                      "Choose an output in a folder you can write to.")
    return OutputNotWritableError(f"{target}: cannot be written ({error.strerror or error}).",
                                  "Choose another output.")


def claim_temporary_file(target: Path) -> Path:
    """A new, empty, hidden file beside `target` named `.NAME.PID-RANDOM.part`. Created with
    open(..., "x") rather than mkstemp so that it gets the usual permissions, not 0600."""
    for _ in range(100):
        candidate = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
        try:
            with open(candidate, "x"):
                return candidate
        except FileExistsError:
            continue
        except OSError as error:
            raise output_error(target, error) from None
    raise OutputNotWritableError(f"{target.parent}: cannot create a temporary file there.")


def claim_final_name(temporary: Path, target: Path, overwrite: bool) -> None:
    """Give the finished `temporary` its final name: atomically, and never over an existing file
    unless `overwrite`."""
    if overwrite:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise OutputExistsError(f"{target}: was created by someone else while this run was writing; "
                                "it was left as it is and this run's result was discarded.",
                                "Choose another output, or allow replacing it with {overwrite}.",
                                setting="overwrite") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # A file system without hard links (FAT, some network shares): the best we can do is to check
        # just before the rename.
        if target.exists():
            raise OutputExistsError(f"{target}: was created while this run was writing.",
                                    "Choose another output, or allow replacing it with {overwrite}.",
                                    setting="overwrite") from None
        os.replace(temporary, target)
    else:
        temporary.unlink()


@contextmanager
def atomic_output(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `target`; give it the name `target` when the block completes,
    delete it when the block fails or is interrupted (KeyboardInterrupt, cancellation, SIGTERM
    turned into KeyboardInterrupt by the command)."""
    with atomic_outputs([target], overwrite) as (temporary,):
        yield temporary


@contextmanager
def atomic_outputs(targets: list[Path], overwrite: bool = False) -> Iterator[list[Path]]:
    """As atomic_output, for files that belong together (a labelled file and its provenance): all
    are claimed, in order, when the block completes, or none is left: when one cannot be claimed,
    those claimed just before it (this run's own files) are removed again."""
    targets = [Path(target) for target in targets]
    temporaries: list[Path] = []
    try:
        for target in targets:
            remove_stale_temporary_files(target)
            temporaries.append(claim_temporary_file(target))
        yield temporaries
        claimed: list[Path] = []
        try:
            for temporary, target in zip(temporaries, targets):
                claim_final_name(temporary, target, overwrite)
                claimed.append(target)
        except BaseException:
            for target in claimed:
                target.unlink(missing_ok=True)
            raise
    except OSError as error:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise output_error(targets[0], error) from None
        raise
    except BaseException:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        raise
