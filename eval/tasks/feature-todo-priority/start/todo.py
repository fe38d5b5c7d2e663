class TodoList:
    def __init__(self):
        self.items = []

    def add(self, title):
        self.items.append({'title': title, 'done': False})

    def done(self, title):
        for it in self.items:
            if it['title'] == title:
                it['done'] = True

    def pending(self):
        return [it['title'] for it in self.items if not it['done']]
