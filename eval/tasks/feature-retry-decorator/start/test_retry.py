from retry import retry

def test_succeeds_after_failures():
    calls = []

    @retry(3)
    def f():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError('no')
        return 'ok'

    assert f() == 'ok'
    assert len(calls) == 3
