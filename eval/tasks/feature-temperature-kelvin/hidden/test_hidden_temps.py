import pytest
from temps import convert

def test_kelvin():
    assert convert(0, 'C', 'K') == pytest.approx(273.15)
    assert convert(273.15, 'K', 'C') == pytest.approx(0)
    assert convert(212, 'F', 'K') == pytest.approx(373.15)
    assert convert(0, 'K', 'F') == pytest.approx(-459.67)
    with pytest.raises(ValueError):
        convert(1, 'K', 'X')
