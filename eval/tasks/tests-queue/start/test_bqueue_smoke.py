from bqueue import BoundedQueue

def test_make():
    assert len(BoundedQueue(2)) == 0
