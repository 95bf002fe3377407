"""The training form's base-model checks, off the GUI thread: which model a new form starts with, whether
the chosen one can be loaded now (available, weights loadable under *Allow pickle weights*), and the
models usable offline that the field's *Local models* menu lists, looked for again each time it opens.
What they find becomes the message under the model field (`message`); `changed` asks the form to
revalidate."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from moderator_app.core.config import TrainingConfig
from moderator_app.gui.common import checks
from moderator_app.gui.common.errors import setting_label_for_gui
from moderator_app.gui.common.fields import FieldEditor
from moderator_app.gui.common.file_fields import ModelField
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.training.data_checks import single_shot

CHECK_DELAY_MS = 400  # after the last keystroke in the model field


class ModelChecks(QObject):
    changed = Signal()

    def __init__(self, tasks: BackgroundTasks, fields: dict[str, FieldEditor], parent: QObject):
        super().__init__(parent)
        self.tasks = tasks
        self.field: ModelField = fields["model_name_or_path"]  # type: ignore[assignment]
        self.allow_pickle = fields["allow_pickle"]
        self.message: tuple[str, str] | None = None  # (kind, text) for the model field
        self.result: checks.ModelCheck | None = None
        # (model, why) when the form chose the base model itself (the hub unreachable: the installed
        # MiniLM); a form still on that choice is decided afresh at the next start
        self.automatic_model: tuple[str, str] | None = None
        # while the first model is being decided, a problem found with the recipe's model is held back: it
        # is about to be replaced (offline), and flashing it in red would only alarm
        self._deciding: str | None = None
        self._held: checks.ModelCheck | None = None
        self._timer = single_shot(self, CHECK_DELAY_MS, self._check)
        self.field.edited.connect(self._timer.start)
        self.allow_pickle.edited.connect(self._timer.start)
        self.field.local_models_wanted.connect(self.find_local_models)

    def schedule_check(self) -> None:
        self._timer.start()

    def pending(self, name: str | None, allow_pickle: bool | None) -> bool:
        """Whether the check of (name, allow_pickle) has not answered yet."""
        return self.result is None or (self.result.name, self.result.allow_pickle) != (name, allow_pickle)

    # --------------------------------------------------------------------------------- the first model
    def choose_default_model(self) -> None:
        """Start on a base model that can be loaded: the recipe's when the hub answers (or it is cached),
        else the installed all-MiniLM-L6-v2; decided in the background, and only while the field holds
        the recipe's model or the form's own earlier choice (never over the user's)."""
        before = self.field.value()
        recipe = TrainingConfig().model_name_or_path
        if before not in (recipe, self.automatic_model[0] if self.automatic_model else recipe):
            self.automatic_model = None
            return
        self._deciding, self._held = before, None
        self.tasks.submit(checks.default_base_model, recipe, key="default-model",
                          on_done=lambda chosen: self._default_model_ready(before, *chosen),
                          on_error=lambda error: self._decided())  # the model check names any problem

    def _decided(self) -> None:
        """The first model is decided: show the problem held back meanwhile (dropped if it went stale)."""
        held, self._deciding, self._held = self._held, None, None
        if held is not None:
            self._checked(held)

    def _default_model_ready(self, before: str, model: str, why: str) -> None:
        if self.field.value() != before:
            self._decided()  # the user chose meanwhile
            return
        self.automatic_model = (model, why) if why else None
        if model != before:
            self._deciding, self._held = None, None  # the held problem was the replaced model's
            self.field.set_value(model)  # edited: checked as any other choice
        elif self._held is not None:
            self._decided()
        elif self.result is not None:
            self._checked(self.result)  # the hint now says why this model

    # --------------------------------------------------------------------------------- local models
    def find_local_models(self) -> None:
        self.tasks.submit(checks.local_models, on_done=self._local_models_ready,
                          on_error=lambda error: self._local_models_ready([]), key="local-models")

    def _local_models_ready(self, choices: list[tuple[str, str]]) -> None:
        self.field.set_local_choices(choices)
        if self.result and self.result.problem:
            self._checked(self.result)  # the problem names the local choices

    # --------------------------------------------------------------------------------- can it load
    def _check(self) -> None:
        name = self.field.value()
        self.message = None
        if not name:
            self.result = None
            self.changed.emit()
            return
        allow_pickle = self.allow_pickle.value()
        self.tasks.submit(checks.check_model, name, allow_pickle, setting_label_for_gui, on_done=self._checked,
                          on_error=lambda error: self._checked(
                              checks.ModelCheck(name, f"Could not check the model: {error}", False, allow_pickle)),
                          key="model")
        self.changed.emit()

    def _checked(self, result: checks.ModelCheck) -> None:
        if (result.name, result.allow_pickle) != (self.field.value(), self.allow_pickle.value()):
            return  # the fields changed since; a newer check is on its way
        if result.problem and result.name == self._deciding:
            self._held = result  # shown once the first model is decided, if it stays
            return
        self.result = result
        if result.problem:
            message = result.problem
            local = self.field.local_choices
            if local:
                message += " Models available offline are under “Local models”: " + \
                    ", ".join(label for label, _ in local[:3]) + ("…" if len(local) > 3 else "") + "."
            self.message = ("error", message)
        elif self.automatic_model and self.automatic_model[0] == result.name:
            self.message = ("hint", self.automatic_model[1])
        else:
            self.message = ("hint", "Local model folder." if result.is_local else "Hugging Face hub model.")
        self.changed.emit()
