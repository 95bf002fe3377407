"""Time from launch to window shown, for any way of starting the app (bundle, installed wheel, source).

    python packaging/measure_launch.py [--runs N] [--xvfb] -- COMMAND [ARG...]

Starts COMMAND with MODERATOR_APP_QUIT_WHEN_SHOWN=1, with which moderator_app/gui/app.py prints
`window-shown <unix time>` once the main window has been shown and painted, then quits. The figure
is that time minus the moment just before the process was started. Offscreen by default
(QT_QPA_PLATFORM=offscreen); --xvfb runs each launch under xvfb-run (the xcb platform, as on a
desktop; xvfb-run's own start-up is then included). Settings go to a temporary file, never the
user's. Runs after the first find the files in the page cache: the first run is reported apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def launch(command: list[str], env: dict[str, str], timeout: float) -> tuple[float, float]:
    """(seconds to window shown, seconds until the process had exited)."""
    start = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    ended = time.time()
    shown = next((line for line in done.stdout.splitlines() if line.startswith("window-shown ")), None)
    if done.returncode != 0 or shown is None:
        raise SystemExit(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return float(shown.split()[1]) - start, ended - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--xvfb", action="store_true", help="under xvfb-run instead of the offscreen platform")
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to launch after --")
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, MODERATOR_APP_QUIT_WHEN_SHOWN="1",
                   MODERATOR_APP_SETTINGS_FILE=os.path.join(folder, "settings.ini"))
        if args.xvfb:
            env.pop("QT_QPA_PLATFORM", None)
            command = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", *command]
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
        results = [launch(command, env, args.timeout) for _ in range(args.runs)]
    shown = [s for s, _ in results]
    print(f"launch to window shown: first run {shown[0]:.2f} s", end="")
    if len(shown) > 1:
        rest = shown[1:]
        print(f"; then median {statistics.median(rest):.2f} s (min {min(rest):.2f}, max {max(rest):.2f}, "
              f"{len(rest)} runs)", end="")
    print(f"; process exit median {statistics.median(e for _, e in results):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
