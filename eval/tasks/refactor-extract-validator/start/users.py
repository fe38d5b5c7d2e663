USERS = {}

def register(name, email):
    if '@' not in email or email.startswith('@') or email.endswith('@'):
        raise ValueError('bad email')
    USERS[name] = email

def change_email(name, email):
    if '@' not in email or email.startswith('@') or email.endswith('@'):
        raise ValueError('bad email')
    USERS[name] = email
