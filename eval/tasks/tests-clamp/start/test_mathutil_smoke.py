from mathutil import clamp

def test_import():
    assert callable(clamp)
