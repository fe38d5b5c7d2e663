import os

def worker_port(env=None):
    env = os.environ if env is None else env
    return int(env.get('APP_PORT', '8080')) + 1
