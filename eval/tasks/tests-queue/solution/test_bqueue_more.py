from bqueue import BoundedQueue

def test_drops_oldest():
    q = BoundedQueue(2)
    for x in (1, 2, 3):
        q.push(x)
    assert len(q) == 2
    assert q.pop() == 2
    assert q.pop() == 3
