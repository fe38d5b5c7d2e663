from loader import load

def test_load():
    assert load('a = 1\nb=2\n') == {'a': '1', 'b': '2'}
