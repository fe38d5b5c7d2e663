import os

def app_banner(env=None):
    env = os.environ if env is None else env
    port = int(env.get('APP_PORT', '8080'))
    debug = env.get('APP_DEBUG', '0') == '1'
    return f'app on {port}' + (' (debug)' if debug else '')
