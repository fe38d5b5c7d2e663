import datetime

def parse_day(s):
    y, d, m = s.split('-')
    return datetime.date(int(y), int(m), int(d))
