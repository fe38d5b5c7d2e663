from flat import flatten

def test_nesting():
    assert flatten([1, [2, [3, (4, 5)]], []]) == [1, 2, 3, 4, 5]
    assert flatten([b'xy', 'z', {'k': 1}]) == [b'xy', 'z', {'k': 1}]
    assert flatten([]) == []
