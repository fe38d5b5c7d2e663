from totals import sum_by

def test_sum_by():
    text = 'name,amount\nann,1.5\nbob,2\nann,3\n"smith, jo",4\nbob,\n'
    assert sum_by(text, "name", "amount") == {"ann": 4.5, "bob": 2.0, "smith, jo": 4.0}

def test_header_only():
    assert sum_by("k,v\n", "k", "v") == {}
