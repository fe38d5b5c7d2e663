import pytest
from bank import Account

def test_history():
    a = Account(10)
    a.deposit(5)
    with pytest.raises(ValueError):
        a.withdraw(50)
    a.withdraw(15)
    assert a.history() == [('deposit', 5, 15), ('withdraw', 15, 0)]
    assert Account().history() == []
