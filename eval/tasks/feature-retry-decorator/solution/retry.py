import functools

def retry(times, exceptions=(Exception,), on_retry=None):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            for attempt in range(1, times + 1):
                try:
                    return fn(*args, **kwargs)
                except exceptions as e:
                    if attempt == times:
                        raise
                    if on_retry is not None:
                        on_retry(attempt, e)
        return inner
    return wrap
