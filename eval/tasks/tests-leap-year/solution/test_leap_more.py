from leap import is_leap

def test_rules():
    assert is_leap(2024) and not is_leap(2023)
    assert not is_leap(1900)
    assert is_leap(2000)
