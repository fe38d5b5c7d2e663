import datetime

def parse_day(s):
    return datetime.datetime.strptime(s, '%Y-%m-%d').date()
