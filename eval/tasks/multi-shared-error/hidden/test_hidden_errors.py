import pytest
from errors import ConfigError
from loader import load

def test_line_number():
    with pytest.raises(ConfigError) as e:
        load('a=1\n\nbroken\n')
    assert e.value.line == 3
    assert isinstance(e.value, ValueError)

def test_empty():
    with pytest.raises(ConfigError) as e:
        load('  ')
    assert e.value.line is None
