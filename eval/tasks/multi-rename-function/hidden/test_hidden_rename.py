from checkout import checkout_total
from invoice import invoice_line
from pricing import tax

def test_renamed():
    assert not hasattr(tax, 'calc_tax')
    assert tax.compute_tax(10) == 2
    assert checkout_total(10) == 12
    assert invoice_line(10) == '10.00 + tax 2.00'
