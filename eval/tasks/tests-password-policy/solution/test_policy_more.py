from policy import check_password

def test_rules():
    assert check_password('Abcdefghi1') == []
    assert check_password('Abcdefgh1') == ['length']
    assert check_password('Abcdefghij') == ['digit']
    assert check_password('abcdefghi1') == ['upper']
    assert check_password('ABCDEFGHI1') == ['lower']
    assert check_password('') == ['length', 'digit', 'upper', 'lower']
