from export import export

def test_known():
    assert export([1, 2], 'csv') == '1,2'
    assert export([1, 2], 'json') == '[1, 2]'
