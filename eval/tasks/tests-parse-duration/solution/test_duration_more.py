import pytest
from duration import parse_duration

def test_units():
    assert parse_duration('45s') == 45
    assert parse_duration('2h') == 7200
    assert parse_duration('1h30m') == 5400
    assert parse_duration('1h1m1s') == 3661

def test_invalid():
    for bad in ('', 'abc', '5x'):
        with pytest.raises(ValueError):
            parse_duration(bad)
