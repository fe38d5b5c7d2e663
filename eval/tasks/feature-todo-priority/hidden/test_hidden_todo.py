from todo import TodoList

def test_ordered():
    t = TodoList()
    t.add('low')
    t.add('high', priority=5)
    t.add('mid', 2)
    t.add('low2')
    assert t.ordered() == ['high', 'mid', 'low', 'low2']
    assert t.pending() == ['low', 'high', 'mid', 'low2']
