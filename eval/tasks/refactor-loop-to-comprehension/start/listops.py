def squares(xs):
    out = []
    for x in xs:
        out.append(x * x)
    return out

def evens(xs):
    out = []
    for x in xs:
        if x % 2 == 0:
            out.append(x)
    return out

def index_of_max(xs):
    best = 0
    for i in range(len(xs)):
        if xs[i] > xs[best]:
            best = i
    return best
