def check_password(pw):
    broken = []
    if len(pw) <= 10:
        broken.append('length')
    if not any(c.isdigit() for c in pw):
        broken.append('digit')
    if not any(c.isupper() for c in pw):
        broken.append('upper')
    if not any(c.islower() for c in pw):
        broken.append('lower')
    return broken
