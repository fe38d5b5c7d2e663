from money import format_money
from shop import receipt

def test_money():
    assert format_money(12.5) == '12.50 EUR'
    assert format_money(3, 'USD') == '3.00 USD'

def test_receipt():
    assert receipt([('tea', 2.5), ('cake', 3)]) == 'tea: 2.50 EUR\ncake: 3.00 EUR\ntotal: 5.50 EUR'
    assert receipt([('tea', 1)], currency='GBP') == 'tea: 1.00 GBP\ntotal: 1.00 GBP'
