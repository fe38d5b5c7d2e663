from leap import is_leap

def test_import():
    assert callable(is_leap)
