import pytest
from roman import to_roman

def test_values():
    assert to_roman(1) == "I"
    assert to_roman(4) == "IV"
    assert to_roman(9) == "IX"
    assert to_roman(58) == "LVIII"
    assert to_roman(1994) == "MCMXCIV"
    assert to_roman(3999) == "MMMCMXCIX"

def test_range():
    for bad in (0, -1, 4000):
        with pytest.raises(ValueError):
            to_roman(bad)
