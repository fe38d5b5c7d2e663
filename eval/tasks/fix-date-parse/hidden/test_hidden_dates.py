import datetime
import pytest
from dates import parse_day

def test_good():
    assert parse_day('1999-12-31') == datetime.date(1999, 12, 31)

def test_bad():
    for bad in ('2024-13-01', '15-03-2024', 'x', '2024-02-30'):
        with pytest.raises(ValueError):
            parse_day(bad)
