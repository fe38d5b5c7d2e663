from wordfreq import top_words

def test_counts_and_ties():
    text = "The cat and the hat. A cat! THE end"
    assert top_words(text, 2) == [("the", 3), ("cat", 2)]
    assert top_words(text, 4) == [("the", 3), ("cat", 2), ("a", 1), ("and", 1)]

def test_apostrophes_and_empty():
    assert top_words("don't stop, don't", 1) == [("don't", 2)]
    assert top_words("", 3) == []
