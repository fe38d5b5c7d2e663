from rle import decode, encode

def test_roundtrip():
    assert encode("aaabcc") == "3a1b2c"
    assert encode("") == ""
    assert decode("12x1y") == "x" * 12 + "y"
    for s in ("abc", "zzzzzzzzzzzzz", "a b  c"):
        assert decode(encode(s)) == s
