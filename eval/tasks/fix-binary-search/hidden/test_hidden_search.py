from search import find

def test_all_positions():
    xs = list(range(0, 40, 2))
    for i, x in enumerate(xs):
        assert find(xs, x) == i
    assert find(xs, 5) == -1
    assert find([], 1) == -1
    assert find(xs, 100) == -1
