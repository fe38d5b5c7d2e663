from report import build_report

def test_report():
    out = build_report([('b', 1), ('a', 2.5), ('b', 2)])
    assert out == 'a             2.50\nb             3.00\nTOTAL         5.50'
