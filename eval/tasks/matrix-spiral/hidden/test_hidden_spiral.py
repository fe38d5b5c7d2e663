from spiral import spiral

def test_spiral():
    assert spiral([]) == []
    assert spiral([[1]]) == [1]
    assert spiral([[1, 2, 3], [4, 5, 6], [7, 8, 9]]) == [1, 2, 3, 6, 9, 8, 7, 4, 5]
    assert spiral([[1, 2, 3, 4], [5, 6, 7, 8]]) == [1, 2, 3, 4, 8, 7, 6, 5]
    assert spiral([[1], [2], [3]]) == [1, 2, 3]
