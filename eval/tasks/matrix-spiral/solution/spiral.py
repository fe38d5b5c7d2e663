def spiral(matrix):
    m = [list(r) for r in matrix]
    out = []
    while m and m[0]:
        out.extend(m.pop(0))
        m = [list(r) for r in zip(*m)][::-1]
    return out
