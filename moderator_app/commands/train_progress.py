"""Console rendering of training events: the data report, a progress bar and the epoch table."""

from __future__ import annotations

import sys

from tqdm import tqdm

from moderator_app.core.training.events import (CheckpointEvent, DataLoadedEvent, EpochEvent, FailedEvent,
                                                FinishedEvent, FunctionalTestsEvent, StatusEvent, StepEvent)
from moderator_app.core.training.suites_at_end import summary_lines

TABLE_HEADER = (f"{'Training Loss':>13} | {'Epoch':>5} | {'Step':>6} | {'Validation Loss':>15} | "
                f"{'Accuracy':>8} | {'Baseline':>8} | {'F1':>6}")


class ConsoleProgress:
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None
        self.table_started = False
        self.data_warnings: list[str] = []  # the data report's, repeated when the run ends

    def on_event(self, event) -> None:
        if isinstance(event, DataLoadedEvent):
            self._write(event.summary)
            self.data_warnings = list(event.report.get("warnings", []))
        elif isinstance(event, StepEvent):
            self._step(event)
        elif isinstance(event, EpochEvent):
            self._epoch(event)
        elif isinstance(event, StatusEvent):  # on stdout, beside "Base model: …": stderr is for problems
            print(event.message, flush=True)
        elif isinstance(event, FunctionalTestsEvent):  # the final model on the run's test suites
            for entry in event.suites:
                self._write("\n".join(summary_lines(entry, failures=10)))
        elif isinstance(event, CheckpointEvent):
            self._write(f"Checkpoint written at step {event.global_step}: {event.path}")
        elif isinstance(event, (FinishedEvent, FailedEvent)):
            self.close()

    def _step(self, event: StepEvent) -> None:
        if self.bar is None:
            self.bar = tqdm(total=event.total_steps, initial=event.global_step - 1, unit="step",
                            file=self.stream, dynamic_ncols=True, bar_format=(
                                "{l_bar}{bar}| {n_fmt}/{total_fmt} steps [{elapsed}<{remaining}{postfix}]"))
        self.bar.update(event.global_step - self.bar.n)
        self.bar.set_postfix_str(f"epoch {event.epoch:.2f}, loss {event.loss:.4f}, "
                                 f"{event.samples_per_second:.1f} samples/s", refresh=False)

    def _epoch(self, event: EpochEvent) -> None:
        if not self.table_started:
            self._write(TABLE_HEADER)
            self.table_started = True
        mark = ("  ← lowest loss, but degenerate" if event.warning else "  ← best") if event.is_best else ""
        self._write(f"{event.train_loss:>13.4f} | {event.epoch:>5.1f} | {event.global_step:>6} | "
                    f"{event.val_loss:>15.4f} | {event.accuracy:>8.4f} | {event.majority_baseline:>8.4f} | "
                    f"{event.f1:>6.4f}{mark}")
        for name, scores in event.categories.items():  # a multi-label run: each category on its known rows
            self._write(f"{'category ' + name[:21]:>30} | {'':>15} | P {_figure(scores['precision'])} R "
                        f"{_figure(scores['recall'])} F1 {_figure(scores['f1'])} AP {_figure(scores['ap'])} "
                        f"prevalence {_figure(scores['prevalence'])} (n={scores['known_rows']:,})")
        for name, scores in event.per_source.items():  # the same metrics on each source's validation rows
            self._write(f"{'source ' + name[:23]:>30} | {'':>15} | {scores['accuracy']:>8.4f} | "
                        f"{scores['majority_baseline']:>8.4f} | {scores['f1']:>6.4f}  (n={scores['n']:,})")
        if event.warning:
            self._write(f"  warning (epoch {event.epoch}): {event.warning}")

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _figure(value: float | None) -> str:
    return "  n/a " if value is None else f"{value:.4f}"
