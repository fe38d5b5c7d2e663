import datetime
from dates import parse_day

def test_order():
    assert parse_day('2024-03-15') == datetime.date(2024, 3, 15)
