from collections import deque

class BoundedQueue:
    def __init__(self, capacity):
        self._d = deque(maxlen=capacity)

    def push(self, x):
        self._d.append(x)

    def pop(self):
        return self._d.pop()

    def __len__(self):
        return len(self._d)
