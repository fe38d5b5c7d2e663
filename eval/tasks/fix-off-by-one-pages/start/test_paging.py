from paging import page_count

def test_pages():
    assert page_count(10, 3) == 4
    assert page_count(9, 3) == 3
