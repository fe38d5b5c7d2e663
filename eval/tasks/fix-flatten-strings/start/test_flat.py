from flat import flatten

def test_strings():
    assert flatten(['ab', ['cd', ('e',)]]) == ['ab', 'cd', 'e']
