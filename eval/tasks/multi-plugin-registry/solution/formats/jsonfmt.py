import json

from formats import register


@register('json')
def to_json(data):
    return json.dumps(list(data))
