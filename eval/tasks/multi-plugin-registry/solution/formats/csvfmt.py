from formats import register


@register('csv')
def to_csv(data):
    return ','.join(str(x) for x in data)
