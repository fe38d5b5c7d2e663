from paging import page_count

def test_edges():
    assert page_count(0, 5) == 0
    assert page_count(1, 5) == 1
    assert page_count(100, 10) == 10
    assert page_count(101, 10) == 11
