from text import is_palindrome

def test_phrase():
    assert is_palindrome('A man, a plan, a canal: Panama')
    assert not is_palindrome('hello')
