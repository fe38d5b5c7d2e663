from chunks import chunks

def test_import():
    assert callable(chunks)
