TO_C = {'C': lambda v: v, 'F': lambda v: (v - 32) * 5 / 9, 'K': lambda v: v - 273.15}
FROM_C = {'C': lambda v: v, 'F': lambda v: v * 9 / 5 + 32, 'K': lambda v: v + 273.15}


def convert(value, src, dst):
    if src not in TO_C or dst not in FROM_C:
        raise ValueError(f'cannot convert {src} to {dst}')
    if src == dst:
        return value
    return FROM_C[dst](TO_C[src](value))
