import pytest

from moderator_app.core.inference.explain import explain
from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)

# auto resolves to bf16 or fp32 by the CPU: `make test` runs this module both ways (--cpu-bf16)
pytestmark = pytest.mark.precision


def keyword_model(texts):
    """Probability of class 1 rises with each 'vermin' and falls with each 'lovely'."""
    rows = []
    for text in texts:
        p = min(max(0.5 + 0.3 * text.count("vermin") - 0.2 * text.count("lovely"), 0.0), 1.0)
        rows.append([1 - p, p])
    return rows


def test_words_that_push_up_and_down_are_found_with_offsets():
    text = "what  lovely vermin today"
    influences = explain(text, keyword_model, label_index=1)
    by_word = {item.word: item for item in influences}
    assert [item.word for item in influences] == ["what", "lovely", "vermin", "today"]
    assert by_word["vermin"].influence > 0.29 and by_word["lovely"].influence < -0.19
    assert by_word["what"].influence == 0.0
    assert text[by_word["vermin"].start:by_word["vermin"].end] == "vermin"
    assert explain(text, keyword_model, label_index=0)[2].influence < 0  # the other class's view


def test_empty_and_long_texts():
    assert explain("   ", keyword_model, 1) == []
    calls = []

    def counting(texts):
        calls.append(len(texts))
        return keyword_model(texts)

    assert len(explain("word " * 1000, counting, 1, max_words=50)) == 50
    assert calls == [51]


def test_shading_follows_the_absolute_change_not_the_largest_word():
    from moderator_app.core.inference.explain import WordInfluence, shade, strongest

    assert shade(0.005) < 0.05 and shade(-0.15) == pytest.approx(0.5) and shade(0.6) == 1.0
    assert shade(float("nan")) == 0.0
    words = [WordInfluence("a", 0, 1, 0.002), WordInfluence("b", 2, 3, -0.005)]
    assert strongest(words).word == "b" and strongest([]) is None


def test_a_text_whose_words_barely_matter_is_shaded_faintly(qapp):
    """A 0.005 change was drawn at full strength when it was the text's largest; now it is a faint tint, and
    the header says how much the probability moves."""
    import re

    from moderator_app.core.inference.explain import WordInfluence
    from moderator_app.gui.review.explanation_view import ExplanationView, influence_html
    from moderator_app.core.inference.shared_model import Explained

    text = "lovely weather today"
    influences = [WordInfluence("lovely", 0, 6, -0.001), WordInfluence("weather", 7, 14, 0.005),
                  WordInfluence("today", 15, 20, 0.0)]
    alphas = [float(value) for value in re.findall(r"rgba\(\d+,\d+,\d+,([0-9.]+)\)", influence_html(text, influences))]
    assert alphas and max(alphas) < 0.1
    view = ExplanationView(model_tasks=None)  # shows a finished explanation: no jobs
    view.show_explanation(Explained(text, "hate", 1, 0.02, influences), "P(hate)")
    assert "at most 0.005" in view.title.text()


def test_the_review_worker_explains_in_as_few_forward_passes_as_the_token_budget_allows(tiny_classifier_dir):
    """A tweet's occlusions take one forward pass; a 100-word text's 101 variants two (three before: the
    classifier's default batch of 64 texts capped them at 64 × 64 tokens)."""
    from moderator_app.core.inference.shared_model import explain_text, load_model
    from tiny_models import NEUTRAL_WORDS

    handle = load_model(str(tiny_classifier_dir), device="cpu")
    handle.classifier.max_length = 512  # it was trained at 64 tokens; a long text must not be cut here
    passes = []
    handle.classifier.model.register_forward_hook(lambda module, args, kwargs_or_output: passes.append(1))
    for words, most in ((20, 1), (100, 2)):
        passes.clear()
        text = " ".join(NEUTRAL_WORDS[index % len(NEUTRAL_WORDS)] for index in range(words))
        explained = explain_text(handle, text, 0)
        assert len(explained.influences) == words and len(passes) <= most
