from validators import is_valid_email

USERS = {}

def register(name, email):
    if not is_valid_email(email):
        raise ValueError('bad email')
    USERS[name] = email

def change_email(name, email):
    if not is_valid_email(email):
        raise ValueError('bad email')
    USERS[name] = email
