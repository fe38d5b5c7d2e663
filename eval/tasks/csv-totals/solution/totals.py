import csv
import io

def sum_by(csv_text, key_column, value_column):
    out = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        raw = (row.get(value_column) or "").strip()
        if raw == "":
            continue
        out[row[key_column]] = out.get(row[key_column], 0.0) + float(raw)
    return out
