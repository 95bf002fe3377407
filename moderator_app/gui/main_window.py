"""The main window: a tab widget (the Training tab; other tabs join with `add_tab`), the File and
Help menus and a status bar. It remembers its geometry and the tab it was left on in QSettings.

Closing: every tab implements `can_close() -> bool` (it may ask, and may answer False for now, as the
Training tab does while it stops a run; it then closes the window again) and `shutdown()` (stop and
wait for background work, save state), which the window calls once all tabs agreed."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QTabWidget, QWidget

from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.gui.common import settings
from moderator_app.gui.common.about import AboutDialog
from moderator_app.gui.common.errors import show_failure
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.common.wheel_guard import install_wheel_guard
from moderator_app.gui.training.tab import TrainingTab

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
TAB_KEY = "window/tab"  # the title of the tab the user left the window on
CONFIG_FILTER = "Training configuration (*.json);;All files (*)"


class MainWindow(QMainWindow):
    first_shown = Signal()  # once, right after the window first appeared

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        install_wheel_guard()  # the wheel changes no setting that lacks the focus, in every tab and dialog
        self.setWindowTitle("Fine-tune and review hate-speech classifiers")  # Qt appends the application name
        self.setObjectName("MainWindow")
        self.tasks = BackgroundTasks(self)
        self._shown_once = False
        self._review_handler: Callable[[str], None] | None = None
        self.about_dialog: AboutDialog | None = None

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self._tab_to_reopen = settings.load_value(TAB_KEY, "")
        self.training_tab = TrainingTab(self.tasks)
        self.add_tab(self.training_tab, "Training")

        self._build_menus()
        self.device_label = QLabel("Device: detecting…")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().showMessage("Ready", 5000)
        self.training_tab.status_message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.training_tab.running_changed.connect(self._on_running_changed)
        self.training_tab.form.devices_detected.connect(
            lambda info: self.device_label.setText(f"Device: {info.describe(info.auto_resolves_to)}"))
        self.training_tab.run_ended.connect(self._on_run_ended)

        geometry = settings.load_bytes(GEOMETRY_KEY)
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            self.resize(min(1440, int(screen.width() * 0.9)), min(900, int(screen.height() * 0.9)))
        state = settings.load_bytes(STATE_KEY)
        if state is not None:
            self.restoreState(state)

    # ------------------------------------------------------------------------------ structure
    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a page; it implements the close protocol, can_close() and shutdown(). The window reopens
        on the tab it was left on, whenever that tab joins."""
        index = self.tabs.addTab(widget, title)
        if title == self._tab_to_reopen:
            self.tabs.setCurrentIndex(index)
        return index

    def pages(self) -> list[QWidget]:
        return [self.tabs.widget(index) for index in range(self.tabs.count())]

    def set_review_handler(self, handler: Callable[[str], None]) -> None:
        """Who opens a trained model for review; the Training tab offers "Open in Review" only once
        one is set."""
        if self._review_handler is not None:
            self.training_tab.open_in_review.disconnect(self._review_handler)
        self._review_handler = handler
        self.training_tab.open_in_review.connect(handler)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_config_action = QAction("&Open training config…", self, shortcut=QKeySequence.StandardKey.Open,
                                          triggered=self.open_config)
        self.save_config_action = QAction("&Save training config…", self, shortcut=QKeySequence.StandardKey.Save,
                                          triggered=self.save_config)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        file_menu.addAction(self.open_config_action)
        file_menu.addAction(self.save_config_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About Moderator", self, triggered=self.show_about)
        help_menu.addAction(self.about_action)

    # ------------------------------------------------------------------------------ actions
    def open_config(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open a training configuration",
                                                  settings.last_folder("config"), CONFIG_FILTER)
            if not path:
                return False
        try:
            config = TrainingConfig.load(path)
        except ConfigError as error:
            show_failure(self, error, "Cannot open the configuration")
            return False
        settings.remember_folder("config", path)
        self.training_tab.form.set_config(config)
        self.statusBar().showMessage(f"Loaded {path}", 8000)
        return True

    def save_config(self, path: str | None = None) -> bool:
        try:
            config = self.training_tab.form.config_for_saving()
        except ConfigError as error:
            show_failure(self, error, "Cannot save the configuration: fix this setting first")
            return False
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save the training configuration",
                                                  settings.last_folder("config") or "training_config.json",
                                                  CONFIG_FILTER)
            if not path:
                return False
            if not path.lower().endswith(".json"):
                path += ".json"
        try:
            config.save(path)
        except OSError as error:
            show_failure(self, error, "Cannot save the configuration")
            return False
        settings.remember_folder("config", path)
        self.statusBar().showMessage(f"Saved {path}", 8000)
        return True

    def show_about(self) -> None:
        self.about_dialog = AboutDialog(self.tasks, self)
        self.about_dialog.open()

    def _on_running_changed(self, running: bool) -> None:
        self.open_config_action.setEnabled(not running)

    # ------------------------------------------------------------------------------ show and close
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            # after this event has been handled and painted; then start what needs torch
            QTimer.singleShot(0, self._after_first_show)

    def _after_first_show(self) -> None:
        self.first_shown.emit()
        QTimer.singleShot(0, self.training_tab.start_background_checks)

    def closeEvent(self, event: QCloseEvent) -> None:
        for page in self.pages():
            if not page.can_close():
                if self.training_tab.closing:  # stopping the run; closes again from _on_run_ended
                    self.statusBar().showMessage("Stopping the run; the window closes when it has stopped…")
                    self.setEnabled(False)
                event.ignore()
                return
        settings.save_bytes(GEOMETRY_KEY, self.saveGeometry())
        settings.save_bytes(STATE_KEY, self.saveState())
        settings.save_value(TAB_KEY, self.tabs.tabText(self.tabs.currentIndex()))
        self.hide()
        for page in self.pages():
            page.shutdown()
        self.tasks.wait(15_000)  # a device probe or file preview still running ends within seconds
        super().closeEvent(event)

    def _on_run_ended(self) -> None:
        if self.training_tab.closing:
            self.training_tab.closing = False
            self.setEnabled(True)
            self.close()
