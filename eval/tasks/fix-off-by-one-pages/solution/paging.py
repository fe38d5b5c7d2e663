def page_count(total, per_page):
    return -(-total // per_page)
