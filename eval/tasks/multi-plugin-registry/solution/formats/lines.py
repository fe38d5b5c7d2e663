from formats import register


@register('lines')
def to_lines(data):
    return '\n'.join(str(x) for x in data)
