from mini_md import render

def test_heading_bold():
    assert render('# Hi **you**') == '<h1>Hi <b>you</b></h1>'
