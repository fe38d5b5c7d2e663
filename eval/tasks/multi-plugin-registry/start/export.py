from formats.csvfmt import to_csv
from formats.jsonfmt import to_json

def export(data, fmt):
    if fmt == 'csv':
        return to_csv(data)
    if fmt == 'json':
        return to_json(data)
    raise ValueError(fmt)
