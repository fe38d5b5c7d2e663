from report import build_report, format_report, summarize

def test_parts():
    rows = [('x', 1), ('y', 2), ('x', 3)]
    assert summarize(rows) == {'x': 4, 'y': 2}
    assert format_report({'x': 4}) == 'x             4.00\nTOTAL         4.00'
    assert build_report(rows) == format_report(summarize(rows))
    assert build_report([]) == 'TOTAL         0.00'
