def round2(x):
    return round(x, 2)
