def convert(value, src, dst):
    if src == dst:
        return value
    if (src, dst) == ('C', 'F'):
        return value * 9 / 5 + 32
    if (src, dst) == ('F', 'C'):
        return (value - 32) * 5 / 9
    raise ValueError(f'cannot convert {src} to {dst}')
