from policy import check_password

def test_import():
    assert callable(check_password)
