from slug import slugify

def test_max_length():
    assert slugify('Hello big world', max_length=9) == 'hello-big'
    assert slugify('Hello big world', max_length=10) == 'hello-big'
    assert slugify('abc', max_length=10) == 'abc'
    assert slugify('Hello, World!') == 'hello-world'
