"""Retraining from decisions, as a part of ReviewTab (a mixin): prepare the run (core.review.retrain)
for the Training tab, and when it has run, compare the old and the new model and offer to review the
queue with the new one."""

from __future__ import annotations

from pathlib import Path


class RetrainFlow:
    # ------------------------------------------------------------------------------ retrain
    def retrain_from_decisions(self) -> None:
        """Prepare a run that retrains the loaded model on its data plus this queue's decisions."""
        handle = self.handle
        if handle is None:
            return
        queue = self.queue.name if self.queue is not None else None
        folder, labels = handle.model_id, list(handle.info.labels)

        def prepare():
            from moderator_app.core.review.retrain import prepare_retrain

            return prepare_retrain(self.decisions.store.store(), folder, labels, queue)

        def prepared(plan) -> None:
            self.retrain_plan = plan
            self.status_message.emit("The retraining run is ready in the Training tab: " + " ".join(plan.report))
            self.retrain_prepared.emit(plan)

        self.decisions.tasks.submit(prepare, key="retrain", on_done=prepared,
                                    on_error=lambda error: self._show_failure(error, "Cannot retrain from decisions"))

    def offer_comparison(self, output_dir: str) -> bool:
        """After the prepared run: compare the old and the new model (in the background). False when
        `output_dir` is not the prepared run's or holds no model."""
        plan = self.retrain_plan
        if plan is None or Path(output_dir).resolve() != Path(plan.config.output_dir).resolve():
            return False
        if not (Path(output_dir) / "config.json").is_file():
            return False
        from moderator_app.core.review.retrain import compare_models

        self.status_message.emit("Comparing the old and the new model…")
        self.tasks.submit(compare_models, plan.old_model, output_dir, plan.config.validation_file or None,
                          plan.held_out_file, key="compare", on_done=lambda found: self._compared(found, output_dir),
                          on_error=lambda error: self._show_failure(error, "Cannot compare the models"))
        return True

    def _compared(self, comparisons, output_dir: str) -> None:
        from moderator_app.gui.review.comparison_dialog import ComparisonDialog

        self.comparison_ready.emit(comparisons)
        self.comparison_dialog = ComparisonDialog(comparisons, self.retrain_plan.old_model, output_dir, self)
        self.comparison_dialog.switch_requested.connect(self.switch_queue_model)
        self.comparison_dialog.open()

    def switch_queue_model(self, folder: str) -> None:
        """Review the open queue with another model: it is loaded and the queue classified again."""
        self.load_model(folder, self.model_panel.allow_pickle.isChecked())
