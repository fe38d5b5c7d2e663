from intervals import merge

def test_merge():
    assert merge([]) == []
    assert merge([(5, 6), (1, 3), (2, 4)]) == [(1, 4), (5, 6)]
    assert merge([(1, 2), (2, 3)]) == [(1, 3)]
    assert merge([(1, 10), (2, 3), (4, 5)]) == [(1, 10)]
    assert merge([(3, 3)]) == [(3, 3)]
