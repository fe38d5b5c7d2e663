import ast
import inspect
import listops

def test_results():
    assert listops.squares([1, -2, 3]) == [1, 4, 9]
    assert listops.evens([1, 2, 3, 4, 0]) == [2, 4, 0]
    assert listops.index_of_max([3, 9, 9, 1]) == 1

def test_no_for_statements():
    tree = ast.parse(inspect.getsource(listops))
    assert not any(isinstance(n, ast.For) for n in ast.walk(tree))
