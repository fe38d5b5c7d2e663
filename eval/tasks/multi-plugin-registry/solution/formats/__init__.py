FORMATS = {}


def register(name):
    def wrap(fn):
        FORMATS[name] = fn
        return fn
    return wrap
