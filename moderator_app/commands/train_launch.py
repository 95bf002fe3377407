"""`moderator-app train --nproc N`: start N training processes on this computer through torchrun's own
API (`torch.distributed.run`), so that two GPUs need no second command. Each process runs
`python -m moderator_app train` exactly as `torchrun --nproc-per-node N -m moderator_app train` would.

The first process writes to this terminal; the others' output goes to log files in a temporary folder.
When the run fails, the line that says why is shown once: each process leaves its own in the reply
file torchrun gives it (`record_failure`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nproc", type=int, default=1, metavar="N",
                        help="train on N processes on this computer: one per GPU (or N CPU processes with "
                             "--device cpu), data-parallel, with the same global batch (default: 1)")


def wants_launch(args: argparse.Namespace) -> bool:
    """True for `--nproc N` with N > 1, unless this process is already one that torchrun started."""
    return getattr(args, "nproc", 1) > 1 and "TORCHELASTIC_RUN_ID" not in os.environ


def launch(args: argparse.Namespace, config) -> int:
    """Run `args.nproc` processes of `moderator-app train` with `config` (or `--resume`); return the exit
    status: 0, 2 for bad input, 1 for a failure, 130 when stopped."""
    from moderator_app.commands.errors import report_failure

    count = args.nproc
    try:
        _check_devices(count, config)
    except Exception as error:  # noqa: BLE001 - one line, as any other failure
        return report_failure("train", error)
    with tempfile.TemporaryDirectory(prefix="moderator-app-launch-") as folder:
        command = ["train"]
        if args.resume:
            command += ["--resume", args.resume]
        else:
            config.save(Path(folder) / "config.json")
            command += ["--config", str(Path(folder) / "config.json")]
        logs = Path(folder) / "logs"
        others = ",".join(f"{rank}:3" for rank in range(1, count))
        launcher = ["--nproc-per-node", str(count), "--log-dir", str(logs), "--redirects", f"0:0,{others}",
                    "--module", "moderator_app", *command]
        return _run_torchrun(launcher, count)


def _check_devices(count: int, config) -> None:
    import torch

    from moderator_app.core.devices import resolve_device
    from moderator_app.core.errors import SettingsError

    device = resolve_device(config.device) if config is not None else None
    if device == "cuda" and count > torch.cuda.device_count():
        raise SettingsError(f"{count} training processes need {count} GPUs; this computer has "
                            f"{torch.cuda.device_count()}.", "Use at most as many processes as GPUs, or choose "
                            "cpu for {device}.", setting="device")
    if count < 1:
        raise SettingsError(f"The number of processes must be at least 1, not {count}.")


def _run_torchrun(launcher: list[str], count: int) -> int:
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    # torchrun logs each failed process and each signal at length; the processes say what happened themselves.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    # Each process gets its share of the cores (torchrun would give each one thread and warn).
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // count)))
    # On Ctrl-C the processes finish their step and process 0 writes a checkpoint before they exit;
    # torchrun kills them after this many seconds (its default, 30, is short for a large model).
    os.environ.setdefault("TORCH_ELASTIC_SHUTDOWN_TIMEOUT", "600")
    try:
        run(parse_args(launcher))
    except SignalException:
        return EXIT_INTERRUPTED  # the processes stopped with a checkpoint and said how to resume
    except ChildFailedError as error:
        return _explain_failures(error.failures, count)
    return 0


def report_process_failure(error: BaseException, process: str) -> int:
    """The error boundary of one process under torchrun: one line naming the process, also left in
    torchrun's reply file; returns the exit status (2 for bad input)."""
    from moderator_app.commands.errors import EXIT_BAD_INPUT, EXIT_FAILED, flag_for
    from moderator_app.core.errors import describe_failure

    failure = describe_failure(error, flag_for)
    message = f"moderator-app train: error: {process}: {failure.message}"
    print(message, file=sys.stderr)
    status = EXIT_BAD_INPUT if failure.is_user_error else EXIT_FAILED
    record_failure(message, status)
    return status


def record_failure(message: str, status: int) -> None:
    """Under torchrun, leave this process's one-line error where torchrun reads it (the reply file it names
    in TORCHELASTIC_ERROR_FILE): torchrun's own report then shows it, and `--nproc` knows which process
    said what without reading their output."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path:
        import json
        import time

        Path(path).write_text(json.dumps({"message": message, "timestamp": int(time.time()),
                                          "exit_status": status}), encoding="utf-8")


def _explain_failures(failures: dict, count: int) -> int:
    """Show why the run failed unless process 0 said it on this terminal; return the exit status.

    The cause is process 0's message unless it only lost contact with the others; then the first other
    process's (in rank order) that names an error of its own; else how a process that said nothing ended."""
    said = {rank: (failure.error_file_data.get("exit_status"), failure.message) for rank, failure in failures.items()
            if isinstance(failure.error_file_data, dict) and "exit_status" in failure.error_file_data}
    if 0 in said and not _is_lost_contact(said[0][1]):
        return said[0][0]  # process 0 wrote it on this terminal
    for rank in sorted(said):
        if rank > 0 and not _is_lost_contact(said[rank][1]):
            print(said[rank][1], file=sys.stderr)
            return said[rank][0]
    codes = {rank: failure.exitcode for rank, failure in failures.items() if rank not in said}
    if set(codes.values()) == {EXIT_INTERRUPTED}:
        return EXIT_INTERRUPTED  # stopped by a signal to one process: all stopped, process 0 said how to resume
    if codes:  # a process that ended without a word: killed, or crashed
        # torchrun ends the survivors with SIGTERM: the process that ended otherwise is the one to name.
        rank = min(codes, key=lambda failed: (codes[failed] == -signal.SIGTERM, failed))
        print(f"moderator-app train: error: training process {rank + 1} of {count} {_how_it_ended(codes[rank])}; "
              "the others were stopped.", file=sys.stderr)
    return said[0][0] if 0 in said and not codes else 1


def _is_lost_contact(message: str) -> bool:
    return "lost contact with the others" in message


def _how_it_ended(code: int) -> str:
    if code < 0:
        how = f"was killed by signal {-code}"
        return how + (" (often because the computer ran out of memory)" if -code == signal.SIGKILL else "")
    return f"ended with exit status {code}"
