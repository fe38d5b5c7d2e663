from lru import LRUCache

def test_eviction_order():
    c = LRUCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1
    c.put("c", 3)
    assert c.get("b") is None
    assert c.get("a") == 1 and c.get("c") == 3
    assert len(c) == 2

def test_update_and_default():
    c = LRUCache(1)
    c.put("x", 1)
    c.put("x", 2)
    assert c.get("x") == 2
    assert c.get("y", "none") == "none"
