"""How the Review tab joins the window: its status bar fields, the Training tab's "Open in Review",
a retraining run prepared from decisions filled into the Training tab's form, the data audit's
suspects opened as a queue, and the comparison offered when the prepared run ends."""

from __future__ import annotations

from moderator_app.gui.review.status_fields import add_review_status
from moderator_app.gui.review.tab import ReviewTab


def add_review_tab(window, tab_factory=ReviewTab) -> ReviewTab:
    """Add the Review tab to a MainWindow and make the Training tab's "Open in Review" load into it."""
    tab = tab_factory(window.tasks)
    window.add_tab(tab, "Review")
    tab.status_message.connect(lambda text: window.statusBar().showMessage(text, 15000))
    add_review_status(window, tab)

    def review(folder: str) -> None:
        window.tabs.setCurrentWidget(tab)
        tab.loader.open(folder)

    window.set_review_handler(review)
    window.review_tab = tab

    def retrain(plan) -> None:
        window.training_tab.form.set_config(plan.config)
        window.tabs.setCurrentWidget(window.training_tab)
        window.statusBar().showMessage("Retraining from decisions: " + " ".join(plan.report), 30000)

    tab.retrain_prepared.connect(retrain)

    def review_suspects(result) -> None:  # the Training tab's data audit: its suspects as a queue here
        def created(queue) -> None:  # the next run takes the corrections made in it
            window.training_tab.form.set_values({"corrections_queue": queue.name})

        window.tabs.setCurrentWidget(tab)
        tab.open_audit_suspects(result, created)

    window.training_tab.review_suspects.connect(review_suspects)
    window.training_tab.run_finished.connect(
        lambda event: tab.offer_comparison(event.output_dir) and window.tabs.setCurrentWidget(tab))
    return tab
