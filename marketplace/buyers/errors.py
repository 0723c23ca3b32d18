from marketplace.errors import NotFound


class BuyerNotFound(NotFound):
    def __init__(self, what: str):
        super().__init__(f"No {what} here.")
