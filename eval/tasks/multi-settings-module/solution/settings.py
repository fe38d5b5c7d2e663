import os


def load(env=None):
    env = os.environ if env is None else env
    return {'port': int(env.get('APP_PORT', '8080')), 'debug': env.get('APP_DEBUG', '0') == '1'}
