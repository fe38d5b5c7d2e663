class Account:
    def __init__(self, balance=0):
        self.balance = balance
        self._history = []

    def deposit(self, amount):
        self.balance += amount
        self._history.append(('deposit', amount, self.balance))

    def withdraw(self, amount):
        if amount > self.balance:
            raise ValueError('insufficient funds')
        self.balance -= amount
        self._history.append(('withdraw', amount, self.balance))

    def history(self):
        return list(self._history)
