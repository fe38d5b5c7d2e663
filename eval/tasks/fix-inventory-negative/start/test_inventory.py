import pytest
from inventory import Inventory

def test_too_many():
    inv = Inventory()
    inv.add('pen', 2)
    with pytest.raises(ValueError):
        inv.remove('pen', 3)
    assert inv.stock['pen'] == 2
