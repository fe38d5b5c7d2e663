import math
from shapes import Circle, Rect, Square, area

def test_areas():
    assert area(Circle(1)) == math.pi
    assert area(Rect(2, 3)) == 6
    assert area(Square(4)) == 16
    assert Square(2).area() == 4
