from temps import convert

def test_cf():
    assert convert(100, 'C', 'F') == 212
    assert convert(32, 'F', 'C') == 0
