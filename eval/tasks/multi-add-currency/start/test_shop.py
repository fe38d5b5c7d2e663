from shop import receipt

def test_receipt_lines():
    assert receipt([('tea', 2.5)]).count('\n') == 1
