def squares(xs):
    return [x * x for x in xs]


def evens(xs):
    return [x for x in xs if x % 2 == 0]


def index_of_max(xs):
    return max(range(len(xs)), key=lambda i: xs[i])
