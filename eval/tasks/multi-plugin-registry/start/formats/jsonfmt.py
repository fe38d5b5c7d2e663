import json

def to_json(data):
    return json.dumps(list(data))
