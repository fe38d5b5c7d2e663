import pytest
import export as ex
from formats import FORMATS, register

def test_registry():
    assert {'csv', 'json', 'lines'} <= set(FORMATS)
    assert ex.export([1, 2], 'lines') == '1\n2'

def test_unknown_names_known():
    with pytest.raises(ValueError) as e:
        ex.export([1], 'xml')
    assert 'csv' in str(e.value) and 'lines' in str(e.value)

def test_new_format_via_register():
    @register('upper')
    def up(data):
        return ''.join(data).upper()
    assert ex.export(['a', 'b'], 'upper') == 'AB'
