import pytest
from cart import Cart

def test_codes():
    c = Cart()
    c.add(20)
    c.apply_code('TEN')
    assert c.total() == 18
    c.apply_code('FIVEOFF')
    assert c.total() == 15
    small = Cart()
    small.add(3)
    small.apply_code('FIVEOFF')
    assert small.total() == 0
    with pytest.raises(ValueError):
        c.apply_code('FREE')
