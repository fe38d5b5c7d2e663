from duration import parse_duration

def test_import():
    assert callable(parse_duration)
