def mean(xs):
    if not xs:
        return None
    return sum(xs) / len(xs)
