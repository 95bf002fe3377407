from moderator_app.core.inference.explain import explain


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
