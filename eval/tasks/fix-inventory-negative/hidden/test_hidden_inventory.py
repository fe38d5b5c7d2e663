import pytest
from inventory import Inventory

def test_flow():
    inv = Inventory()
    inv.add('cup', 5)
    inv.remove('cup', 5)
    assert inv.stock['cup'] == 0
    with pytest.raises(ValueError):
        inv.remove('plate', 1)
