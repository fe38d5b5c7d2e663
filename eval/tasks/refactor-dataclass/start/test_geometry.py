from geometry import Point

def test_point():
    assert Point(0, 0).distance_to(Point(3, 4)) == 5
    assert Point(1, 2) == Point(1, 2)
    assert repr(Point(1, 2)) == 'Point(x=1, y=2)'
