import inspect
import pytest
import users
from validators import is_valid_email

def test_function():
    assert is_valid_email('a@b')
    assert not is_valid_email('@b') and not is_valid_email('a@') and not is_valid_email('ab')

def test_used_and_unchanged():
    src = inspect.getsource(users)
    assert src.count('is_valid_email') >= 2
    assert "startswith('@')" not in src
    with pytest.raises(ValueError):
        users.register('b', 'b@')
