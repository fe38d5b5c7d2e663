import math

def area(shape):
    if shape['kind'] == 'circle':
        return math.pi * shape['r'] ** 2
    if shape['kind'] == 'rect':
        return shape['w'] * shape['h']
    if shape['kind'] == 'square':
        return shape['side'] ** 2
    raise ValueError(shape['kind'])
