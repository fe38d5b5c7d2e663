def parse_line(text, line):
    if '=' not in text:
        raise Exception(f'line {line}: missing =')
    key, _, value = text.partition('=')
    return key.strip(), value.strip()
