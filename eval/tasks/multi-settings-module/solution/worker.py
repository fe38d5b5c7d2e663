import settings


def worker_port(env=None):
    return settings.load(env)['port'] + 1
