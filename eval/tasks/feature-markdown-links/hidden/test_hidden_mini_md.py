from mini_md import render

def test_links():
    assert render('see [docs](http://x.org/a)') == 'see <a href="http://x.org/a">docs</a>'
    assert render('[**b**](u)') == '<a href="u"><b>b</b></a>'
    assert render('# [t](u)') == '<h1><a href="u">t</a></h1>'
    assert render('[x](a"b)') == '[x](a"b)'
