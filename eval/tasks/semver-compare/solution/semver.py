def _parse(v):
    v = v.split("+", 1)[0]
    core, _, pre = v.partition("-")
    nums = tuple(int(x) for x in core.split("."))
    parts = [int(p) if p.isdigit() else p for p in pre.split(".")] if pre else []
    return nums, parts

def _cmp(x, y):
    return (x > y) - (x < y)

def compare(a, b):
    (na, pa), (nb, pb) = _parse(a), _parse(b)
    if na != nb:
        return _cmp(na, nb)
    if not pa or not pb:
        return _cmp(not pa, not pb)
    for x, y in zip(pa, pb):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return _cmp(x, y)
        if isinstance(x, int):
            return -1
        if isinstance(y, int):
            return 1
        return _cmp(x, y)
    return _cmp(len(pa), len(pb))
