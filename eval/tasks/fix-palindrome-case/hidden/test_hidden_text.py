from text import is_palindrome

def test_more():
    assert is_palindrome('')
    assert is_palindrome('No lemon, no melon')
    assert not is_palindrome('ab')
    assert is_palindrome('Was it a car or a cat I saw?')
