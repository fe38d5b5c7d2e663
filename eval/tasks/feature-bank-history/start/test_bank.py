import pytest
from bank import Account

def test_basic():
    a = Account(10)
    a.deposit(5)
    a.withdraw(3)
    assert a.balance == 12
    with pytest.raises(ValueError):
        a.withdraw(100)
