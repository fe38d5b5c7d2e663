def is_valid_email(address):
    return '@' in address and not address.startswith('@') and not address.endswith('@')
