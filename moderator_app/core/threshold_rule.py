"""The rule that picks a binary model's operating threshold on its validation set.

Kept free of numpy and scikit-learn so that the training configuration can validate a rule cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from moderator_app.core.messages import settings_error


BEST_F1 = "best_f1"
RULE_FORMS = "best_f1, precision>=P or recall>=R (P, R between 0 and 1)"
_TARGET_RULE = re.compile(r"^\s*(precision|recall)\s*>=\s*([0-9]*\.?[0-9]+)\s*$")


@dataclass(frozen=True)
class ThresholdRule:
    """`kind` is "best_f1", "precision" (precision ≥ target, as much recall as possible) or "recall"
    (recall ≥ target, as much precision as possible)."""

    kind: str
    target: float | None = None

    def __str__(self) -> str:
        return BEST_F1 if self.kind == BEST_F1 else f"{self.kind}>={self.target:g}"

    def describe(self) -> str:
        """In words, for tables and the model card."""
        if self.kind == BEST_F1:
            return "best F1"
        return f"{self.kind} ≥ {self.target:g}"


def parse_threshold_rule(text: str, setting: str = "threshold_rule") -> ThresholdRule:
    """"best_f1", "precision>=0.9" or "recall>=0.8" → a ThresholdRule; anything else is a SettingsError."""
    cleaned = str(text).strip().lower()
    if cleaned in (BEST_F1, "best-f1", "f1"):
        return ThresholdRule(BEST_F1)
    match = _TARGET_RULE.match(cleaned)
    if match:
        target = float(match.group(2))
        if 0.0 < target <= 1.0:
            return ThresholdRule(match.group(1), target)
    raise settings_error(f"The threshold rule {text!r} is not one of {RULE_FORMS}.",
                        "Set {" + setting + "} to e.g. best_f1 or precision>=0.9.", setting=setting)
