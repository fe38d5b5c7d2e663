import pytest
import users

def test_register():
    users.register('a', 'a@x.org')
    assert users.USERS['a'] == 'a@x.org'
    with pytest.raises(ValueError):
        users.change_email('a', 'nope')
