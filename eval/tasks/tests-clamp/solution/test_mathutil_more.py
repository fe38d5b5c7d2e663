from mathutil import clamp

def test_clamp():
    assert clamp(-5, 0, 10) == 0
    assert clamp(5, 0, 10) == 5
    assert clamp(50, 0, 10) == 10
    assert clamp(10, 0, 10) == 10
