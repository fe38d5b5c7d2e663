from cart import Cart

def test_total():
    c = Cart()
    c.add(2.5, 2)
    c.add(1)
    assert c.total() == 6
