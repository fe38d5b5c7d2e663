import pytest
from retry import retry

def test_only_listed_exceptions():
    calls = []

    @retry(5, exceptions=(KeyError,))
    def f():
        calls.append(1)
        raise ValueError('bad')

    with pytest.raises(ValueError):
        f()
    assert len(calls) == 1

def test_on_retry():
    seen = []

    @retry(3, on_retry=lambda n, e: seen.append((n, str(e))))
    def g():
        raise RuntimeError('x')

    with pytest.raises(RuntimeError):
        g()
    assert seen == [(1, 'x'), (2, 'x')]
