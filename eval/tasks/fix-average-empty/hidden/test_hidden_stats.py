from stats import mean

def test_more():
    assert mean(()) is None
    assert mean([4]) == 4
    assert mean([1, 2]) == 1.5
