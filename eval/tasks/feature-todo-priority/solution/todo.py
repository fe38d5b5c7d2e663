class TodoList:
    def __init__(self):
        self.items = []

    def add(self, title, priority=0):
        self.items.append({'title': title, 'done': False, 'priority': priority})

    def done(self, title):
        for it in self.items:
            if it['title'] == title:
                it['done'] = True

    def pending(self):
        return [it['title'] for it in self.items if not it['done']]

    def ordered(self):
        return [it['title'] for it in sorted(self.items, key=lambda it: -it['priority'])]
