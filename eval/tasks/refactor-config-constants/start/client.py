def fetch_settings():
    return {'timeout': 30, 'retries': 3}

def upload_settings():
    return {'timeout': 30 * 2, 'retries': 3}

def describe():
    return f'timeout {30}s, {3} retries'
