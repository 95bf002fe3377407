"""'Why this label': the selected text with each word shaded by how much it moved the score, red for
words that pushed it up, blue for words that pulled it down, and the strongest words listed. The
occlusion runs as a job of the shared model (core.inference.shared_model.explain_text); a newer
request makes an older one that has not started yet return nothing."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from moderator_app.core.inference.explain import shade, strongest
from moderator_app.core.inference.shared_model import Explained, ModelHandle, explain_text
from moderator_app.core.review.decision import categories_of_text
from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.tasks import BackgroundTasks

UP_RGB, DOWN_RGB = (214, 39, 40), (31, 119, 180)
STRONGEST_SHOWN = 6
MIN_SHADED_CHANGE = 0.001  # words changing the probability by less are left unshaded


def influence_html(text: str, influences) -> str:
    """The text as HTML with one span per word shaded by the absolute change in probability (core's shade())."""
    parts, position = [], 0
    for word in influences:
        parts.append(html.escape(text[position:word.start]))
        strength = shade(word.influence)
        piece = html.escape(text[word.start:word.end])
        if abs(word.influence) >= MIN_SHADED_CHANGE:
            red, green, blue = UP_RGB if word.influence > 0 else DOWN_RGB
            alpha = 0.06 + 0.74 * strength
            parts.append(f'<span style="background-color: rgba({red},{green},{blue},{alpha:.2f});" '
                         f'title="{word.influence:+.3f}">{piece}</span>')
        else:
            parts.append(piece)
        position = word.end
    parts.append(html.escape(text[position:]))
    return "".join(parts).replace("\n", "<br>")


class ExplanationView(QWidget):
    ready = Signal(object)  # Explained

    def __init__(self, model_tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.model_tasks = model_tasks
        self._request = 0
        self.title = QLabel("<b>Why this label</b>")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setMinimumHeight(70)
        self.explained: Explained | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addWidget(self.browser, 1)
        self.show_message("Select a row to see which words pushed its score up or down.")

    def explain(self, handle: ModelHandle | None, texts_and_labels: list[tuple[str, str]]) -> None:
        """Explain the one selected row (text, label), or say why not."""
        self.forget()
        if handle is None or len(texts_and_labels) != 1:
            self.show_message("Select one row to see which words pushed its score up or down.")
            return
        text, label = texts_and_labels[0]
        if not label:
            self.show_message("This text is empty: nothing to explain.")
            return
        classifier = handle.classifier
        if classifier.multi_label:  # the first category flagged (none flagged: the first category)
            flagged = [name for name in categories_of_text(label) if name in classifier.labels]
            index = classifier.labels.index(flagged[0]) if flagged else 0
        else:
            index = classifier.positive_index if classifier.is_binary else classifier.labels.index(label)
        request = self._request
        self.show_pending(text)
        self.model_tasks.submit(explain_text, handle, text, index, lambda: self._request == request,
                                key="explain", on_done=self._on_explained,
                                on_error=lambda error: self.show_error(describe(error).message))

    def forget(self) -> None:
        """A request not started yet is skipped (its row is no longer selected)."""
        self._request += 1

    def _on_explained(self, explained: Explained | None) -> None:
        if explained is not None:
            self.show_explanation(explained, f"P({explained.label})")
            self.ready.emit(explained)

    @property
    def influences(self):
        return None if self.explained is None else self.explained.influences

    def show_message(self, message: str) -> None:
        self.explained = None
        self.title.setText("<b>Why this label</b>")
        self.status.setText(message)
        self.browser.clear()

    def show_pending(self, text: str) -> None:
        self.explained = None
        self.status.setText("Working out which words matter… (each word is left out in turn and the text "
                            "classified again)")
        self.browser.setHtml(f'<div style="color:#777">{html.escape(text)}</div>')

    def show_explanation(self, explained: Explained, score_name: str) -> None:
        """`score_name`: what the probability is called, e.g. "P(hate)"."""
        self.explained = explained
        influences = explained.influences
        top = strongest(influences)
        change = (f"; leaving out one word changes it by at most {abs(top.influence):.3f}"
                  if top is not None and math.isfinite(top.influence) else "")
        self.title.setText(f"<b>Why this label</b> — {html.escape(score_name)} = {explained.probability:.3f}"
                           f"{change}")
        if not influences:
            self.status.setText("This text has no words to explain.")
            self.browser.clear()
            return
        strongest_words = sorted(influences, key=lambda word: -abs(word.influence))[:STRONGEST_SHOWN]
        listed = ", ".join(f"{html.escape(word.word)} {word.influence:+.3f}" for word in strongest_words
                           if abs(word.influence) > 0)
        label = html.escape(explained.label)
        self.status.setText(
            f'<span style="background-color: rgba({UP_RGB[0]},{UP_RGB[1]},{UP_RGB[2]},0.55)">&nbsp;red&nbsp;</span> '
            f"words pushed the probability of '{label}' up, "
            f'<span style="background-color: rgba({DOWN_RGB[0]},{DOWN_RGB[1]},{DOWN_RGB[2]},0.55)">&nbsp;blue&nbsp;'
            f"</span> pulled it down (change when the word is left out). Strongest: {listed or 'none'}.")
        body = influence_html(explained.text, influences)
        if len(explained.text) > influences[-1].end + 1 and len(explained.text.split()) > len(influences):
            body += f'<div style="color:#777">(the first {len(influences)} words are explained)</div>'
        self.browser.setHtml(f'<div style="font-size: 11pt; line-height: 150%">{body}</div>')

    def show_error(self, message: str) -> None:
        self.explained = None
        self.status.setText(f'<span style="color:#b3261e">Cannot explain this row: {html.escape(message)}</span>')
