from todo import TodoList

def test_pending():
    t = TodoList()
    t.add('a')
    t.add('b')
    t.done('a')
    assert t.pending() == ['b']
