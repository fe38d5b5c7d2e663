from errors import ConfigError


def parse_line(text, line):
    if '=' not in text:
        raise ConfigError(f'line {line}: missing =', line)
    key, _, value = text.partition('=')
    return key.strip(), value.strip()
