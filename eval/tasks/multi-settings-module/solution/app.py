import settings


def app_banner(env=None):
    s = settings.load(env)
    return f"app on {s['port']}" + (' (debug)' if s['debug'] else '')
