from tags import add_tag

def test_given_list():
    mine = ['x']
    assert add_tag('y', mine) is mine
    assert mine == ['x', 'y']
    assert add_tag('z') == ['z']
