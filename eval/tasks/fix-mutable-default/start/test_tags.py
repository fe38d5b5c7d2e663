from tags import add_tag

def test_fresh():
    assert add_tag('a') == ['a']
    assert add_tag('b') == ['b']
