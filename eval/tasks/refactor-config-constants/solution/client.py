TIMEOUT_SECONDS = 30
MAX_RETRIES = 3


def fetch_settings():
    return {'timeout': TIMEOUT_SECONDS, 'retries': MAX_RETRIES}


def upload_settings():
    return {'timeout': TIMEOUT_SECONDS * 2, 'retries': MAX_RETRIES}


def describe():
    return f'timeout {TIMEOUT_SECONDS}s, {MAX_RETRIES} retries'
